//! 防止返贫监测: the monitoring workflow's words and rules, pure and shared by both targets.
//!
//! A self-report (一键报贫) goes `submitted` → (verified by a township or county official:
//! visit, income against expenses, the household's consent) `notice` (the village's notice
//! period, [`NOTICE_DAYS`] days) → `identified` by the county as a monitoring object (监测对象)
//! with a [`Category`] and a cadre, or `dismissed` with a reason. A monitoring object is
//! visited at least every [`VISIT_DUE_DAYS`] days; after [`EXIT_MONTHS`] consecutive months
//! above the line the county may mark its risk eliminated (风险消除), and reopen it later.
//! [`next`] is the one place the order of the steps is decided.

use serde::{Deserialize, Serialize};

/// Days a verified report stays on the village notice board before the county may decide.
pub const NOTICE_DAYS: i64 = 5;
/// A monitored household's paired cadre visits at least this often (monthly).
pub const VISIT_DUE_DAYS: i64 = 31;
/// Consecutive months above the line before the risk may be marked eliminated.
pub const EXIT_MONTHS: usize = 6;

macro_rules! word {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s.trim() { $($s => Some($name::$v),)+ _ => None }
            }
        }
    };
}

word!(
    /// The three categories of monitoring object.
    Category {
        /// 脱贫不稳定户
        Unstable = "unstable",
        /// 边缘易致贫户
        Marginal = "marginal",
        /// 突发严重困难户
        Sudden = "sudden",
    }
);

word!(
    /// What happened, as the reporter says.
    Reason {
        Illness = "illness",
        Disaster = "disaster",
        JobLoss = "job_loss",
        Other = "other",
    }
);

word!(
    /// Who reports: the household itself, a neighbour, or a cadre.
    Reporter {
        SelfReport = "self",
        Neighbour = "neighbour",
        Cadre = "cadre",
    }
);

word!(
    /// Where a self-report stands.
    ReportState {
        Submitted = "submitted",
        /// Verified; on the village notice board.
        Notice = "notice",
        Identified = "identified",
        Dismissed = "dismissed",
    }
);

word!(
    /// A member's place in the household.
    Relation {
        Head = "head",
        Spouse = "spouse",
        Child = "child",
        Parent = "parent",
        Grandchild = "grandchild",
        Other = "other",
    }
);

word!(
    /// 帮扶措施: what support a household receives.
    MeasureKind {
        /// 产业帮扶
        Industry = "industry",
        /// 就业帮扶
        Employment = "employment",
        /// 社会帮扶
        Social = "social",
        /// 低保 (minimum living allowance)
        Dibao = "dibao",
        /// 特困供养 (兜底)
        Tekun = "tekun",
    }
);

word!(
    /// Why an early-warning visit task was raised.
    TaskKind {
        /// Rolling income within the warning margin above the line (or below it).
        NearLine = "near_line",
        /// Rolling income fell sharply over three months.
        Drop = "drop",
        /// A listing of a monitored household is stalled (滞销).
        Stalled = "stalled",
    }
);

word!(
    /// 帮扶成效: the conclusion of a quarterly effect review.
    Conclusion {
        /// 收入稳步增长，帮扶见效
        Improving = "improving",
        /// 基本稳定
        Stable = "stable",
        /// 仍有返贫风险，需调整措施
        AtRisk = "at_risk",
    }
);

word!(
    /// Where a monitoring object stands.
    ObjectState {
        Monitored = "monitored",
        Eliminated = "eliminated",
    }
);

/// A step an official takes on a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Verify,
    Identify,
    Dismiss,
}

/// Why a step was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The report is not in a state this step follows (a skipped or repeated step).
    WrongState,
    /// The village notice period has not run yet.
    NoticeRunning,
}

/// The state a report moves to when `step` is taken at `now`, or why it may not be.
/// `notice_from` is when the notice period began (set when the report was verified).
pub fn next(
    state: ReportState,
    step: Step,
    notice_from: Option<i64>,
    now: i64,
) -> Result<ReportState, Refusal> {
    use ReportState::*;
    match (state, step) {
        (Submitted, Step::Verify) => Ok(Notice),
        (Notice, Step::Identify) => match notice_from {
            Some(t) if now >= t + NOTICE_DAYS * 86_400 => Ok(Identified),
            _ => Err(Refusal::NoticeRunning),
        },
        (Submitted | Notice, Step::Dismiss) => Ok(Dismissed),
        _ => Err(Refusal::WrongState),
    }
}

/// Rolling 12-month per-capita income (滚动12个月人均收入), the one definition of "income
/// against the line": the verified ledger income of the 12 China-time months ending with the
/// current one, plus, for each of those months without any verified ledger row, one twelfth of
/// the latest baseline (per-capita annual income) for every member; divided by the members.
/// Worked out as `(ledger × 12 + baseline × members × missing) / (12 × members)`, truncating
/// toward zero (as SQL integer division does, see `official::server::ROLLING_PC`). `None`
/// when nothing is known (no ledger month and no baseline) or there are no members.
pub fn rolling_per_capita(
    ledger_fen: i64,
    months_present: i64,
    baseline_pc_fen: Option<i64>,
    members: i64,
) -> Option<i64> {
    if members <= 0 || (months_present == 0 && baseline_pc_fen.is_none()) {
        return None;
    }
    let missing = (12 - months_present.clamp(0, 12)) as i128;
    let num =
        ledger_fen as i128 * 12 + baseline_pc_fen.unwrap_or(0) as i128 * members as i128 * missing;
    let v = num / (12 * members as i128);
    Some(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// Whether the last [`EXIT_MONTHS`] months (oldest first, each "was the rolling income at the
/// month's end at or above the line") allow marking the risk eliminated.
pub fn may_exit(months_above: &[bool]) -> bool {
    months_above.len() >= EXIT_MONTHS
        && months_above[months_above.len() - EXIT_MONTHS..]
            .iter()
            .all(|a| *a)
}

/// A visit is overdue when the last one (days since the epoch, China time) is more than
/// [`VISIT_DUE_DAYS`] days before `today`, or there never was one since `since_day`.
pub fn visit_overdue(last_visit_day: Option<i64>, since_day: i64, today: i64) -> bool {
    today - last_visit_day.unwrap_or(since_day).max(since_day) > VISIT_DUE_DAYS
}

/// A receipt number: `BP` and ten characters from an alphabet without look-alikes
/// (no 0/O, 1/I/L). What a reporter types to see where their report stands.
pub const RECEIPT_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Whether `s` is a well-formed receipt number (case-insensitive; spaces around are ignored).
pub fn parse_receipt(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_uppercase();
    let b = s.as_bytes();
    (b.len() == 12 && b.starts_with(b"BP") && b[2..].iter().all(|c| RECEIPT_ALPHABET.contains(c)))
        .then_some(s)
}

/// The longest name, phone, detail and note the workflow accepts (characters).
pub const NAME_MAX: usize = 40;
pub const DETAIL_MAX: usize = 1000;
pub const NOTE_MAX: usize = 500;

/// A mainland phone number as reporters write it: 7 to 20 digits, spaces, hyphens and a
/// leading `+`; stored as given (trimmed).
pub fn parse_phone(s: &str) -> Option<String> {
    let s = s.trim();
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let ok = (7..=20).contains(&digits)
        && s.chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == ' ' || c == '-' || (c == '+' && i == 0));
    ok.then(|| s.to_owned())
}

/// A phone number as shown to someone who may not see it: the first three and last two
/// digits (`138******78`).
pub fn mask_phone(s: &str) -> String {
    let d: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
    if d.len() < 11 {
        // A short (landline) number: only its last two digits.
        let tail: String = d[d.len().saturating_sub(2)..].iter().collect();
        return format!("{}{tail}", "*".repeat(d.len().saturating_sub(2)));
    }
    let head: String = d[..3].iter().collect();
    let tail: String = d[d.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(d.len() - 5))
}

/// A person's name as shown to someone who may not see it: the first character and `*`s.
pub fn mask_name(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => format!("{first}{}", "*".repeat(c.count().clamp(1, 3))),
        None => String::new(),
    }
}

/// A resident identity number (居民身份证号码): 17 digits and a check character (a digit or `X`)
/// by ISO 7064 MOD 11-2, upper-cased.
pub fn parse_id_number(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_uppercase();
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return None;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    (b[17] == CHECK[(sum % 11) as usize]).then_some(s)
}

/// An identity number as shown to someone who may not see it: the first four and last four
/// characters (`3507**********123X`).
pub fn mask_id_number(s: &str) -> String {
    let c: Vec<char> = s.chars().collect();
    if c.len() < 9 {
        return "*".repeat(c.len());
    }
    let head: String = c[..4].iter().collect();
    let tail: String = c[c.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(c.len() - 8))
}

/// Bounded free text: trimmed, non-empty, at most `max` characters.
pub fn bounded_text(s: &str, max: usize) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && s.chars().count() <= max).then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReportState::*;

    const DAY: i64 = 86_400;

    #[test]
    fn the_steps_go_in_order_and_none_is_skipped() {
        assert_eq!(next(Submitted, Step::Verify, None, 0), Ok(Notice));
        // Identification needs the verification and its notice period first.
        assert_eq!(
            next(Submitted, Step::Identify, None, 0),
            Err(Refusal::WrongState)
        );
        assert_eq!(
            next(Notice, Step::Identify, Some(0), 5 * DAY - 1),
            Err(Refusal::NoticeRunning)
        );
        assert_eq!(
            next(Notice, Step::Identify, None, 99 * DAY),
            Err(Refusal::NoticeRunning)
        );
        assert_eq!(
            next(Notice, Step::Identify, Some(0), 5 * DAY),
            Ok(Identified)
        );
        assert_eq!(
            next(Notice, Step::Verify, Some(0), DAY),
            Err(Refusal::WrongState)
        );
        assert_eq!(next(Submitted, Step::Dismiss, None, 0), Ok(Dismissed));
        assert_eq!(next(Notice, Step::Dismiss, Some(0), 0), Ok(Dismissed));
        for done in [Identified, Dismissed] {
            for step in [Step::Verify, Step::Identify, Step::Dismiss] {
                assert_eq!(
                    next(done, step, Some(0), 99 * DAY),
                    Err(Refusal::WrongState)
                );
            }
        }
    }

    #[test]
    fn rolling_income_fills_missing_months_from_the_baseline() {
        // No ledger months: the baseline itself.
        assert_eq!(rolling_per_capita(0, 0, Some(600_000), 3), Some(600_000));
        // Twelve months of ledger: the ledger alone, per member.
        assert_eq!(rolling_per_capita(1_800_000, 12, Some(1), 3), Some(600_000));
        // Six months of ledger (¥9,000 for 3 people) and six of a ¥6,000 baseline:
        // 9,000 / 3 + 6,000 × 6/12 = 3,000 + 3,000.
        assert_eq!(
            rolling_per_capita(900_000, 6, Some(600_000), 3),
            Some(600_000)
        );
        // A ledger month without a baseline: missing months count nothing.
        assert_eq!(rolling_per_capita(120_000, 1, None, 2), Some(60_000));
        assert_eq!(rolling_per_capita(0, 0, None, 2), None);
        assert_eq!(rolling_per_capita(1, 1, Some(1), 0), None);
        // Truncates toward zero, as SQL does: -7 × 12 / 24 = -3.5 → -3.
        assert_eq!(rolling_per_capita(-7, 12, None, 2), Some(-3));
        assert_eq!(
            rolling_per_capita(i64::MAX, 12, Some(i64::MAX), 1),
            Some(i64::MAX)
        );
    }

    #[test]
    fn exit_needs_six_consecutive_months_above() {
        assert!(may_exit(&[false, true, true, true, true, true, true]));
        assert!(!may_exit(&[true, true, true, true, true, false]));
        assert!(!may_exit(&[true, true, true, true, true]));
        assert!(!may_exit(&[true, true, false, true, true, true, true]));
    }

    #[test]
    fn visits_fall_due_monthly() {
        assert!(!visit_overdue(Some(100), 0, 131));
        assert!(visit_overdue(Some(100), 0, 132));
        // Never visited: counted from when monitoring began.
        assert!(!visit_overdue(None, 100, 120));
        assert!(visit_overdue(None, 100, 140));
        // A visit from before monitoring began does not count as recent.
        assert!(visit_overdue(Some(10), 100, 140));
    }

    #[test]
    fn identity_numbers_carry_their_check_character() {
        // The check character of 11010519491231002 is X (GB 11643's worked example).
        assert_eq!(
            parse_id_number("11010519491231002x"),
            Some("11010519491231002X".into())
        );
        assert_eq!(parse_id_number("110105194912310021"), None);
        assert_eq!(parse_id_number("11010519491231002"), None);
        assert_eq!(parse_id_number("1101051949123100XX"), None);
        assert_eq!(mask_id_number("11010519491231002X"), "1101**********002X");
        assert_eq!(MeasureKind::parse("dibao"), Some(MeasureKind::Dibao));
        assert_eq!(Relation::parse("spouse"), Some(Relation::Spouse));
        assert_eq!(TaskKind::parse("near_line"), Some(TaskKind::NearLine));
    }

    #[test]
    fn receipts_phones_and_masks() {
        assert_eq!(parse_receipt(" bp23456789ab "), Some("BP23456789AB".into()));
        assert_eq!(parse_receipt("BP23456789A0"), None);
        assert_eq!(parse_receipt("BP2345678"), None);
        assert_eq!(parse_receipt("XX23456789AB"), None);
        assert_eq!(parse_phone(" 138-0000-1234 "), Some("138-0000-1234".into()));
        assert_eq!(
            parse_phone("+86 13800001234"),
            Some("+86 13800001234".into())
        );
        assert_eq!(parse_phone("12345"), None);
        assert_eq!(parse_phone("1380000x234"), None);
        assert_eq!(parse_phone("138+00001234"), None);
        assert_eq!(mask_phone("138-0000-1234"), "138******34");
        assert_eq!(mask_phone("345-6789"), "*****89");
        assert_eq!(mask_name("王小明"), "王**");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(bounded_text("  x ", 1), Some("x".into()));
        assert_eq!(bounded_text("   ", 10), None);
        assert_eq!(bounded_text("ab", 1), None);
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(*c));
        }
        assert_eq!(Reason::parse("job_loss"), Some(Reason::JobLoss));
        assert_eq!(Reporter::parse("self"), Some(Reporter::SelfReport));
        assert_eq!(Reporter::parse("boss"), None);
    }
}
