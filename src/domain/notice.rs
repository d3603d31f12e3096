//! What the notification centre tells a user (通知): the kinds of event, and their words in
//! each language, shared by the in-app list and the message the outbox sends.

use crate::i18n::Lang;

/// One kind of event a user is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// To the seller: a buyer placed an order.
    OrderPlaced,
    /// To the buyer: the payment arrived.
    OrderPaid,
    /// To the seller: the order is paid, ship it.
    OrderToShip,
    /// To the buyer: the seller shipped it.
    OrderShipped,
    /// To the seller: the buyer received it (or it was received automatically).
    OrderDelivered,
    /// To the buyer: the order was refunded.
    OrderRefunded,
    /// To officials over the village: a new self-report (一键报贫).
    ReportFiled,
    /// To the paired cadres: a visit task was raised for a household.
    VisitTask,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 8] = [
        NoticeKind::OrderPlaced,
        NoticeKind::OrderPaid,
        NoticeKind::OrderToShip,
        NoticeKind::OrderShipped,
        NoticeKind::OrderDelivered,
        NoticeKind::OrderRefunded,
        NoticeKind::ReportFiled,
        NoticeKind::VisitTask,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::OrderPlaced => "order_placed",
            NoticeKind::OrderPaid => "order_paid",
            NoticeKind::OrderToShip => "order_to_ship",
            NoticeKind::OrderShipped => "order_shipped",
            NoticeKind::OrderDelivered => "order_delivered",
            NoticeKind::OrderRefunded => "order_refunded",
            NoticeKind::ReportFiled => "report_filed",
            NoticeKind::VisitTask => "visit_task",
        }
    }

    pub fn parse(s: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What happened, in `lang`; `subject` is the order's number for order events.
    pub fn text(self, subject: Option<i64>, lang: Lang) -> String {
        let n = subject.map(|s| s.to_string()).unwrap_or_default();
        match (self, lang) {
            (NoticeKind::OrderPlaced, Lang::Zh) => format!("订单 #{n}：有买家下单了，等待付款"),
            (NoticeKind::OrderPlaced, Lang::En) => {
                format!("Order #{n}: a buyer placed an order; waiting for payment")
            }
            (NoticeKind::OrderPaid, Lang::Zh) => {
                format!("订单 #{n}：付款成功，货款已按约定记入受益农户的收入台账")
            }
            (NoticeKind::OrderPaid, Lang::En) => {
                format!("Order #{n}: paid; the households' shares are in their income records")
            }
            (NoticeKind::OrderToShip, Lang::Zh) => {
                format!("订单 #{n}：买家已付款，请按承诺时间发货")
            }
            (NoticeKind::OrderToShip, Lang::En) => {
                format!("Order #{n}: paid by the buyer; please ship it in time")
            }
            (NoticeKind::OrderShipped, Lang::Zh) => format!("订单 #{n}：卖家已发货"),
            (NoticeKind::OrderShipped, Lang::En) => format!("Order #{n}: the seller shipped it"),
            (NoticeKind::OrderDelivered, Lang::Zh) => format!("订单 #{n}：买家已确认收货"),
            (NoticeKind::OrderDelivered, Lang::En) => format!("Order #{n}: the buyer received it"),
            (NoticeKind::OrderRefunded, Lang::Zh) => format!("订单 #{n}：已退款"),
            (NoticeKind::OrderRefunded, Lang::En) => format!("Order #{n}: refunded"),
            (NoticeKind::ReportFiled, Lang::Zh) => "辖区内有新的一键报贫，请及时核实".to_owned(),
            (NoticeKind::ReportFiled, Lang::En) => {
                "A new self-report in your region awaits verification".to_owned()
            }
            (NoticeKind::VisitTask, Lang::Zh) => "你结对的农户有新的走访任务".to_owned(),
            (NoticeKind::VisitTask, Lang::En) => {
                "A household you are paired with needs a visit".to_owned()
            }
        }
    }

    /// Where the user acts on it: their orders (as buyer or seller), the queue, the cadre's list.
    pub fn link(self) -> &'static str {
        match self {
            NoticeKind::OrderPaid | NoticeKind::OrderShipped | NoticeKind::OrderRefunded => {
                "/orders"
            }
            NoticeKind::OrderPlaced | NoticeKind::OrderToShip | NoticeKind::OrderDelivered => {
                "/seller/orders"
            }
            NoticeKind::ReportFiled => "/monitoring",
            NoticeKind::VisitTask => "/cadre",
        }
    }

    /// The text message or e-mail: the site's name, then what happened (in Chinese, the
    /// default language; no names or places of households).
    pub fn message(self, subject: Option<i64>) -> String {
        format!("【助农集市】{}", self.text(subject, Lang::Zh))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_and_say_what_happened_in_both_languages() {
        for k in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(k.as_str()), Some(k));
            assert!(!k.text(Some(12), Lang::Zh).is_empty());
            assert!(k.text(Some(12), Lang::En).is_ascii());
            assert!(k.link().starts_with('/'));
        }
        assert_eq!(
            NoticeKind::OrderShipped.message(Some(12)),
            "【助农集市】订单 #12：卖家已发货"
        );
        assert_eq!(NoticeKind::parse("nope"), None);
    }
}
