//! Benefit allocation (利益联结分配): how much of one sold order line reaches each household.
//!
//! A household selling its own produce receives the whole line. A co-op or enterprise selling on
//! behalf of linked households declares, per listing, either a purchase price per unit paid to
//! named households (订单收购) or percentage shares of the sale. Amounts are integer fen and the
//! allocation is exact: shares are split by the largest-remainder method, so the parts always add
//! up to the rounded total and never exceed the line.

use super::money::Fen;
use serde::{Deserialize, Serialize};

/// Basis points: 1/100 of a percent (10,000 = 100%).
pub const FULL_SHARE_BP: i64 = 10_000;

/// What a listing declares about who benefits from each sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "terms")]
pub enum BenefitTerms {
    /// The household's own listing: the whole sale is its income.
    Direct { household_id: i64 },
    /// 订单收购: for every unit sold, each named household is paid this much.
    PerUnit(Vec<(i64, Fen)>),
    /// Shares of the sale, in basis points, per household.
    Shares(Vec<(i64, i64)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocationError {
    /// No household named, a household named twice, or a zero/negative amount or share.
    Malformed,
    /// The declared amounts per unit exceed the unit price, or the shares exceed 100%.
    ExceedsSale,
    /// Quantity or price outside what any real order can be.
    OutOfRange,
}

/// One household's part of one order line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub household_id: i64,
    pub amount: Fen,
}

impl BenefitTerms {
    /// A co-op's terms as typed: `household_id:value` pairs, `,` (or `，`) between them and `:`
    /// (or `：`) inside; `per_unit` values are yuan, `shares` percent with two decimals at most.
    /// Shape only: [`BenefitTerms::validate`] checks the amounts against the price.
    pub fn parse(kind: &str, text: &str) -> Result<BenefitTerms, AllocationError> {
        let mut pairs = Vec::new();
        for part in text
            .split([',', '，'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (h, v) = part
                .split_once([':', '：'])
                .ok_or(AllocationError::Malformed)?;
            let h: i64 = h.trim().parse().map_err(|_| AllocationError::Malformed)?;
            pairs.push((h, v));
        }
        BenefitTerms::from_pairs(kind, pairs)
    }

    /// The same from one value per household (the terms editor's rows), each read on its own;
    /// a row left empty is no part of the terms.
    pub fn from_pairs<'a>(
        kind: &str,
        pairs: impl IntoIterator<Item = (i64, &'a str)>,
    ) -> Result<BenefitTerms, AllocationError> {
        let mut read = Vec::new();
        for (h, v) in pairs {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            read.push((
                h,
                Fen::parse_yuan(v).map_err(|_| AllocationError::Malformed)?,
            ));
        }
        match kind {
            "per_unit" => Ok(BenefitTerms::PerUnit(read)),
            // Percent with two decimals is basis points, as yuan with two decimals is fen.
            "shares" => Ok(BenefitTerms::Shares(
                read.into_iter().map(|(h, v)| (h, v.fen())).collect(),
            )),
            _ => Err(AllocationError::Malformed),
        }
    }

    /// What each household receives of one unit sold at `unit_price` (fen; shares rounded
    /// down), as the listing page explains the price.
    pub fn per_unit(&self, unit_price: Fen) -> Vec<(i64, i64)> {
        match self {
            BenefitTerms::Direct { household_id } => vec![(*household_id, unit_price.fen())],
            BenefitTerms::PerUnit(v) => v.iter().map(|(h, a)| (*h, a.fen())).collect(),
            BenefitTerms::Shares(v) => v
                .iter()
                .map(|(h, bp)| {
                    let share =
                        i128::from(unit_price.fen()) * i128::from(*bp) / i128::from(FULL_SHARE_BP);
                    (*h, i64::try_from(share).unwrap_or(i64::MAX))
                })
                .collect(),
        }
    }

    /// Checks the terms against a unit price, as a listing is saved.
    pub fn validate(&self, unit_price: Fen) -> Result<(), AllocationError> {
        let ids: Vec<i64> = match self {
            BenefitTerms::Direct { household_id } => vec![*household_id],
            BenefitTerms::PerUnit(v) => v.iter().map(|(h, _)| *h).collect(),
            BenefitTerms::Shares(v) => v.iter().map(|(h, _)| *h).collect(),
        };
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if ids.is_empty() || sorted.len() != ids.len() || unit_price.fen() <= 0 {
            return Err(AllocationError::Malformed);
        }
        match self {
            BenefitTerms::Direct { .. } => Ok(()),
            BenefitTerms::PerUnit(v) => {
                if v.iter().any(|(_, f)| f.fen() <= 0) {
                    return Err(AllocationError::Malformed);
                }
                let sum = v
                    .iter()
                    .try_fold(Fen::ZERO, |acc, (_, f)| acc.checked_add(*f))
                    .ok_or(AllocationError::OutOfRange)?;
                if sum > unit_price {
                    Err(AllocationError::ExceedsSale)
                } else {
                    Ok(())
                }
            }
            BenefitTerms::Shares(v) => {
                if v.iter().any(|(_, bp)| *bp <= 0) {
                    return Err(AllocationError::Malformed);
                }
                if v.iter().map(|(_, bp)| *bp).sum::<i64>() > FULL_SHARE_BP {
                    Err(AllocationError::ExceedsSale)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Splits one order line (`quantity` units at `unit_price`) among the households.
    /// The result is sorted by household id; every amount is positive.
    pub fn allocate(
        &self,
        unit_price: Fen,
        quantity: i64,
    ) -> Result<Vec<Allocation>, AllocationError> {
        self.validate(unit_price)?;
        if !(1..=1_000_000).contains(&quantity) || unit_price > Fen::MAX_INPUT {
            return Err(AllocationError::OutOfRange);
        }
        let total = unit_price
            .checked_mul(quantity)
            .ok_or(AllocationError::OutOfRange)?;
        let mut out: Vec<Allocation> = match self {
            BenefitTerms::Direct { household_id } => vec![Allocation {
                household_id: *household_id,
                amount: total,
            }],
            BenefitTerms::PerUnit(v) => v
                .iter()
                .map(|(h, f)| {
                    f.checked_mul(quantity).map(|amount| Allocation {
                        household_id: *h,
                        amount,
                    })
                })
                .collect::<Option<_>>()
                .ok_or(AllocationError::OutOfRange)?,
            BenefitTerms::Shares(v) => split_by_shares(total, v),
        };
        out.retain(|a| a.amount.fen() > 0);
        out.sort_by_key(|a| a.household_id);
        Ok(out)
    }
}

/// Largest-remainder split: the parts add up to floor(total × Σshares / 10,000) exactly; leftover
/// fen go to the largest remainders, ties to the lower household id.
fn split_by_shares(total: Fen, shares: &[(i64, i64)]) -> Vec<Allocation> {
    let t = total.fen() as i128;
    let sum_bp: i128 = shares.iter().map(|(_, bp)| *bp as i128).sum();
    let target = t * sum_bp / FULL_SHARE_BP as i128;
    let mut parts: Vec<(i64, i128, i128)> = shares
        .iter()
        .map(|(h, bp)| {
            let exact = t * (*bp as i128);
            (
                *h,
                exact / FULL_SHARE_BP as i128,
                exact % FULL_SHARE_BP as i128,
            )
        })
        .collect();
    let floor_sum: i128 = parts.iter().map(|p| p.1).sum();
    let mut leftover = target - floor_sum;
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| {
        parts[b]
            .2
            .cmp(&parts[a].2)
            .then(parts[a].0.cmp(&parts[b].0))
    });
    for i in order {
        if leftover == 0 {
            break;
        }
        parts[i].1 += 1;
        leftover -= 1;
    }
    parts
        .into_iter()
        .map(|(h, amount, _)| Allocation {
            household_id: h,
            amount: Fen::new(amount as i64),
        })
        .collect()
}

/// The sum of an allocation.
pub fn total(allocations: &[Allocation]) -> Fen {
    Fen::new(allocations.iter().map(|a| a.amount.fen()).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fen(v: i64) -> Fen {
        Fen::new(v)
    }

    #[test]
    fn direct_sales_go_wholly_to_the_household() {
        let a = BenefitTerms::Direct { household_id: 7 }
            .allocate(fen(12_800), 3)
            .unwrap();
        assert_eq!(
            a,
            vec![Allocation {
                household_id: 7,
                amount: fen(38_400)
            }]
        );
    }

    #[test]
    fn per_unit_purchase_prices_multiply_by_quantity() {
        let terms = BenefitTerms::PerUnit(vec![(2, fen(3_000)), (1, fen(1_500))]);
        let a = terms.allocate(fen(9_900), 4).unwrap();
        assert_eq!(
            a,
            vec![
                Allocation {
                    household_id: 1,
                    amount: fen(6_000)
                },
                Allocation {
                    household_id: 2,
                    amount: fen(12_000)
                }
            ]
        );
        assert!(total(&a) <= fen(9_900 * 4));
    }

    #[test]
    fn shares_split_exactly_with_largest_remainders() {
        // 100 fen as 33.33% / 33.33% / 33.34%: floors 33 each, the one leftover fen goes to the
        // largest remainder (household 2).
        let terms = BenefitTerms::Shares(vec![(3, 3_333), (1, 3_333), (2, 3_334)]);
        let a = terms.allocate(fen(100), 1).unwrap();
        assert_eq!(total(&a), fen(100));
        assert_eq!(
            a.iter().map(|x| x.amount.fen()).collect::<Vec<_>>(),
            vec![33, 34, 33]
        );
        // 60% of 1,001 fen = 600.6 → 600 in all, split 300/300; equal remainders tie to the lower id.
        let a = BenefitTerms::Shares(vec![(1, 3_000), (2, 3_000)])
            .allocate(fen(1_001), 1)
            .unwrap();
        assert_eq!(total(&a), fen(600));
        let a = BenefitTerms::Shares(vec![(2, 5_000), (1, 5_000)])
            .allocate(fen(101), 1)
            .unwrap();
        assert_eq!(
            a,
            vec![
                Allocation {
                    household_id: 1,
                    amount: fen(51)
                },
                Allocation {
                    household_id: 2,
                    amount: fen(50)
                }
            ]
        );
    }

    #[test]
    fn shares_never_exceed_the_sale_for_any_amount() {
        let terms = BenefitTerms::Shares(vec![(1, 1), (2, 4_999), (3, 5_000)]);
        for price in [1, 2, 3, 7, 99, 100, 101, 12_345, 999_999] {
            for qty in [1, 2, 3, 17] {
                let a = terms.allocate(fen(price), qty).unwrap();
                assert_eq!(total(&a), fen(price * qty), "{price}×{qty}");
                assert!(a.iter().all(|x| x.amount.fen() > 0));
            }
        }
    }

    #[test]
    fn bad_terms_are_refused() {
        assert_eq!(
            BenefitTerms::Shares(vec![]).validate(fen(100)),
            Err(AllocationError::Malformed)
        );
        assert_eq!(
            BenefitTerms::Shares(vec![(1, 6_000), (1, 1_000)]).validate(fen(100)),
            Err(AllocationError::Malformed)
        );
        assert_eq!(
            BenefitTerms::Shares(vec![(1, 6_000), (2, 5_000)]).validate(fen(100)),
            Err(AllocationError::ExceedsSale)
        );
        assert_eq!(
            BenefitTerms::Shares(vec![(1, 0)]).validate(fen(100)),
            Err(AllocationError::Malformed)
        );
        assert_eq!(
            BenefitTerms::PerUnit(vec![(1, fen(60)), (2, fen(50))]).validate(fen(100)),
            Err(AllocationError::ExceedsSale)
        );
        assert_eq!(
            BenefitTerms::PerUnit(vec![(1, fen(-5))]).validate(fen(100)),
            Err(AllocationError::Malformed)
        );
        assert_eq!(
            BenefitTerms::Direct { household_id: 1 }.validate(fen(0)),
            Err(AllocationError::Malformed)
        );
    }

    #[test]
    fn absurd_quantities_are_refused() {
        let t = BenefitTerms::Direct { household_id: 1 };
        assert_eq!(t.allocate(fen(100), 0), Err(AllocationError::OutOfRange));
        assert_eq!(t.allocate(fen(100), -1), Err(AllocationError::OutOfRange));
        assert_eq!(
            t.allocate(fen(100), 1_000_001),
            Err(AllocationError::OutOfRange)
        );
        assert_eq!(
            t.allocate(Fen::new(i64::MAX / 2), 3),
            Err(AllocationError::OutOfRange)
        );
    }

    #[test]
    fn typed_terms_and_the_editors_rows_read_alike() {
        let t = BenefitTerms::parse("per_unit", "25:20, 61：15.5，").unwrap();
        assert_eq!(
            t,
            BenefitTerms::PerUnit(vec![(25, Fen::new(2000)), (61, Fen::new(1550))])
        );
        assert_eq!(
            BenefitTerms::parse("shares", "25:12.5").unwrap(),
            BenefitTerms::Shares(vec![(25, 1250)])
        );
        for bad in ["25", "x:1", "25:abc", "25:1:2"] {
            assert_eq!(
                BenefitTerms::parse("per_unit", bad),
                Err(AllocationError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            BenefitTerms::parse("gift", "25:1"),
            Err(AllocationError::Malformed)
        );
        // The editor's rows: each value read on its own, empty rows left out.
        assert_eq!(
            BenefitTerms::from_pairs("per_unit", [(25, " 20 "), (30, ""), (61, "15.5")]).unwrap(),
            t
        );
        assert_eq!(
            BenefitTerms::from_pairs("per_unit", [(25, "1,000")]),
            Ok(BenefitTerms::PerUnit(vec![(25, Fen::new(100_000))])),
            "a comma inside a row groups thousands; it is not a second row"
        );
        assert_eq!(t.per_unit(Fen::new(9800)), vec![(25, 2000), (61, 1550)]);
        assert_eq!(
            BenefitTerms::Shares(vec![(1, 3333)]).per_unit(Fen::new(100)),
            vec![(1, 33)]
        );
    }
}
