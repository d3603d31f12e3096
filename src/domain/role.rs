//! Roles (角色) and what each may see.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 买家: a person buying produce.
    Buyer,
    /// 单位采购人: buys for an institution with an annual pledge.
    InstitutionBuyer,
    /// 农户: a household's own account.
    Household,
    /// 帮扶干部: a cadre acting for the households they are paired with.
    Cadre,
    /// 合作社/企业负责人: manages a co-op or agri-enterprise.
    OrgManager,
    /// 监测干部: sees the households of one region and everything under it.
    Official,
    /// 管理员
    Admin,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Buyer,
        Role::InstitutionBuyer,
        Role::Household,
        Role::Cadre,
        Role::OrgManager,
        Role::Official,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Buyer => "buyer",
            Role::InstitutionBuyer => "institution_buyer",
            Role::Household => "household",
            Role::Cadre => "cadre",
            Role::OrgManager => "org_manager",
            Role::Official => "official",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role reads household income records by region.
    pub fn sees_region_records(self) -> bool {
        matches!(self, Role::Official | Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
