//! Delivery (配送): how an order reaches the buyer, what it costs, and the recipient's details.
//! Pure rules shared by the cart (a quote before placing) and the server (the price charged).
//! Shipping is charged apart from the produce: it never reaches a household's income.

use super::money::Fen;
use serde::{Deserialize, Serialize};

/// How an order travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// 快递: a courier, with the seller's fee rule.
    Courier,
    /// 自提: the buyer collects at the seller's village point.
    Pickup,
    /// 单位配送: the seller delivers to an institution (canteens, unions).
    Institution,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Courier, Method::Pickup, Method::Institution];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Courier => "courier",
            Method::Pickup => "pickup",
            Method::Institution => "institution",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s.trim())
    }
}

/// A seller's delivery terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// The courier's flat fee per order.
    pub courier_fee_fen: i64,
    /// No courier fee (the bulky surcharge still applies) from this much produce up.
    pub free_above_fen: Option<i64>,
    /// Where buyers collect, when the seller offers pick-up.
    pub pickup_point: Option<String>,
    /// Whether the seller delivers to institutions itself.
    pub institution_delivery: bool,
    /// The seller's promise: shipped within this many hours of payment.
    pub dispatch_hours: i64,
}

impl Default for Terms {
    /// A seller who set nothing: courier, free, shipped within 48 hours.
    fn default() -> Terms {
        Terms {
            courier_fee_fen: 0,
            free_above_fen: None,
            pickup_point: None,
            institution_delivery: false,
            dispatch_hours: 48,
        }
    }
}

/// The largest fee or surcharge a seller may set (500 元), and the longest dispatch promise.
pub const MAX_FEE: Fen = Fen::from_yuan(500);
pub const MAX_DISPATCH_HOURS: i64 = 30 * 24;

impl Terms {
    /// The methods this seller offers; an institution buyer also sees institution delivery.
    pub fn methods(&self, institution_buyer: bool) -> Vec<Method> {
        let mut m = vec![Method::Courier];
        if self.pickup_point.is_some() {
            m.push(Method::Pickup);
        }
        if self.institution_delivery && institution_buyer {
            m.push(Method::Institution);
        }
        m
    }

    /// The shipping of one order: `goods` is the produce's total, `bulky` the sum over its lines
    /// of quantity × the listing's per-unit surcharge. None when it would overflow.
    pub fn fee(&self, method: Method, goods: Fen, bulky: Fen) -> Option<Fen> {
        match method {
            Method::Pickup | Method::Institution => Some(Fen::ZERO),
            Method::Courier => {
                let base = match self.free_above_fen {
                    Some(free) if goods.fen() >= free => Fen::ZERO,
                    _ => Fen::new(self.courier_fee_fen),
                };
                base.checked_add(bulky)
            }
        }
    }
}

/// A recipient's details, checked: name, mainland mobile number, detailed address, and for an
/// institution its unit's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub name: String,
    pub mobile: String,
    pub detail: String,
    pub unit_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientError {
    Name,
    Mobile,
    Detail,
    UnitName,
}

fn text(s: &str, max: usize) -> Option<String> {
    let t = s.trim();
    (!t.is_empty() && t.chars().count() <= max && super::text::is_clean(t)).then(|| t.to_owned())
}

impl Recipient {
    pub fn parse(
        name: &str,
        mobile: &str,
        detail: &str,
        unit: &str,
    ) -> Result<Recipient, RecipientError> {
        let name = text(name, 20).ok_or(RecipientError::Name)?;
        let mobile = match super::account::LoginId::parse(mobile) {
            Ok(super::account::LoginId::Phone(p)) => p,
            _ => return Err(RecipientError::Mobile),
        };
        let detail = text(detail, 100).ok_or(RecipientError::Detail)?;
        let unit_name = match unit.trim() {
            "" => None,
            u => Some(text(u, 50).ok_or(RecipientError::UnitName)?),
        };
        Ok(Recipient {
            name,
            mobile,
            detail,
            unit_name,
        })
    }
}

/// A name shown once it is no longer needed: the first character and `*` (张**).
pub fn mask_name(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(first) => std::iter::once(first).chain(c.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// A mobile number shown once it is no longer needed: 138****5678.
pub fn mask_mobile(mobile: &str) -> String {
    let chars: Vec<char> = mobile.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars[..3]
        .iter()
        .chain(std::iter::repeat_n(&'*', n - 7))
        .chain(chars[n - 4..].iter())
        .collect()
}

/// The courier companies a seller picks from when shipping.
pub const COURIERS: [&str; 9] = [
    "顺丰速运",
    "中国邮政EMS",
    "京东物流",
    "中通快递",
    "圆通速递",
    "韵达快递",
    "申通快递",
    "极兔速递",
    "其他",
];

/// A tracking number: 6 to 30 letters, digits and dashes.
pub fn tracking_number(s: &str) -> Option<String> {
    let t = s.trim();
    (t.len() >= 6 && t.len() <= 30 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then(|| t.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn courier_fees_follow_the_rule() {
        let t = Terms {
            courier_fee_fen: 1000,
            free_above_fen: Some(9900),
            pickup_point: Some("村委会".into()),
            institution_delivery: true,
            dispatch_hours: 48,
        };
        assert_eq!(
            t.fee(Method::Courier, Fen::new(5000), Fen::ZERO),
            Some(Fen::new(1000))
        );
        assert_eq!(
            t.fee(Method::Courier, Fen::new(9900), Fen::ZERO),
            Some(Fen::ZERO)
        );
        assert_eq!(
            t.fee(Method::Courier, Fen::new(9900), Fen::new(600)),
            Some(Fen::new(600))
        );
        assert_eq!(
            t.fee(Method::Courier, Fen::new(100), Fen::new(600)),
            Some(Fen::new(1600))
        );
        assert_eq!(
            t.fee(Method::Pickup, Fen::new(100), Fen::new(600)),
            Some(Fen::ZERO)
        );
        assert_eq!(t.fee(Method::Courier, Fen::ZERO, Fen::new(i64::MAX)), None);
        assert_eq!(t.methods(false), vec![Method::Courier, Method::Pickup]);
        assert_eq!(
            t.methods(true),
            vec![Method::Courier, Method::Pickup, Method::Institution]
        );
        assert_eq!(Terms::default().methods(true), vec![Method::Courier]);
    }

    #[test]
    fn recipients_are_checked_and_masked() {
        let r = Recipient::parse(" 张三 ", "+86 138-0000-1234", "七星村 12 号", "").unwrap();
        assert_eq!(
            (r.name.as_str(), r.mobile.as_str(), r.unit_name),
            ("张三", "13800001234", None)
        );
        assert_eq!(
            Recipient::parse("", "13800001234", "x", ""),
            Err(RecipientError::Name)
        );
        assert_eq!(
            Recipient::parse("张三", "a@b.cn", "x", ""),
            Err(RecipientError::Mobile)
        );
        assert_eq!(
            Recipient::parse("张三", "13800001234", "  ", ""),
            Err(RecipientError::Detail)
        );
        assert_eq!(
            Recipient::parse("张三", "13800001234", "x\u{0}", ""),
            Err(RecipientError::Detail)
        );
        assert_eq!(mask_name("欧阳修"), "欧**");
        assert_eq!(mask_mobile("13800001234"), "138****1234");
        assert_eq!(
            tracking_number(" sf1234567890 "),
            Some("SF1234567890".into())
        );
        assert_eq!(tracking_number("12345"), None);
        assert_eq!(tracking_number("SF 123456"), None);
    }
}
