//! The cart lives in the browser (localStorage `zn_cart`), so it survives a reload. What it holds
//! for display (title, price) is never sent back: checkout sends listing ids and quantities only.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "hydrate")]
const KEY: &str = "zn_cart";
#[cfg(feature = "hydrate")]
const CHECKOUT_KEY: &str = "zn_checkout_key";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartItem {
    pub listing_id: i64,
    pub title: String,
    /// The seller's English title, shown on English pages (carts saved before it had none).
    #[serde(default)]
    pub title_en: String,
    pub unit: String,
    pub price_fen: i64,
    pub quantity: i64,
    /// The livestream sale it was added from (carts saved before events had none).
    #[serde(default)]
    pub event_id: Option<i64>,
}

#[derive(Clone, Copy)]
pub struct Cart(pub RwSignal<Vec<CartItem>>);

pub fn use_cart() -> Cart {
    expect_context::<Cart>()
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// Provides the cart: empty while rendering on the server and hydrating (so both agree), then
/// loaded from localStorage and saved back on every change.
pub fn provide_cart() -> Cart {
    let cart = Cart(RwSignal::new(Vec::new()));
    provide_context(cart);
    #[cfg(feature = "hydrate")]
    {
        let loaded = RwSignal::new(false);
        let hydrated = crate::app::hydration_done();
        Effect::new(move |_| {
            if hydrated.get() && !loaded.get_untracked() {
                if let Some(items) = storage()
                    .and_then(|s| s.get_item(KEY).ok().flatten())
                    .and_then(|v| serde_json::from_str::<Vec<CartItem>>(&v).ok())
                {
                    cart.0.set(items);
                }
                loaded.set(true);
            }
        });
        Effect::new(move |_| {
            let items = cart.0.get();
            if loaded.get() {
                if let (Some(s), Ok(json)) = (storage(), serde_json::to_string(&items)) {
                    if let Err(e) = s.set_item(KEY, &json) {
                        leptos::logging::warn!("cart not saved: {e:?}");
                    }
                }
            }
        });
    }
    cart
}

impl CartItem {
    pub fn title_in(&self, lang: crate::i18n::Lang) -> String {
        crate::domain::listing::title_in(lang, &self.title, &self.title_en)
    }
    pub fn unit_in(&self, lang: crate::i18n::Lang) -> String {
        crate::domain::listing::unit_in(lang, &self.unit)
    }
}

impl Cart {
    pub fn add(&self, item: CartItem) {
        self.0.update(
            |items| match items.iter_mut().find(|i| i.listing_id == item.listing_id) {
                Some(existing) => {
                    existing.quantity = (existing.quantity + item.quantity).min(9_999);
                    // Added again from a livestream: the line now comes from it, at its price.
                    if item.event_id.is_some() {
                        existing.event_id = item.event_id;
                        existing.price_fen = item.price_fen;
                    }
                }
                None => items.push(item),
            },
        );
    }
    pub fn set_quantity(&self, listing_id: i64, quantity: i64) {
        self.0.update(|items| {
            if let Some(i) = items.iter_mut().find(|i| i.listing_id == listing_id) {
                i.quantity = quantity.clamp(1, 9_999);
            }
        });
    }
    pub fn remove(&self, listing_id: i64) {
        self.0
            .update(|items| items.retain(|i| i.listing_id != listing_id));
    }
    /// The listing's price changed: the cart shows what it costs now.
    pub fn set_price(&self, listing_id: i64, price_fen: i64) {
        self.0.update(|items| {
            if let Some(i) = items.iter_mut().find(|i| i.listing_id == listing_id) {
                i.price_fen = price_fen;
            }
        });
    }
    pub fn clear(&self) {
        self.0.set(Vec::new());
    }
    pub fn count(&self) -> i64 {
        self.0.with(|items| items.iter().map(|i| i.quantity).sum())
    }
}

/// What a cart asks for, as the server binds a key to it: listing and quantity, in listing order.
pub fn cart_fingerprint(items: &[CartItem]) -> String {
    let mut lines: Vec<(i64, i64)> = items.iter().map(|i| (i.listing_id, i.quantity)).collect();
    lines.sort_unstable();
    lines
        .iter()
        .map(|(l, q)| format!("{l}:{q}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// The idempotency key of the checkout being attempted for this cart (its
/// [`cart_fingerprint`]): kept until it succeeds, so a retry after a lost answer cannot order
/// twice; a new one whenever the cart changes, since the server refuses a key sent again with
/// another cart.
pub fn checkout_key(fingerprint: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        // Stored as "<key> <fingerprint>".
        if let Some(stored) = storage().and_then(|s| s.get_item(CHECKOUT_KEY).ok().flatten()) {
            if let Some((k, f)) = stored.split_once(' ') {
                if f == fingerprint {
                    return k.to_owned();
                }
            }
        }
        let k = format!(
            "web-{:x}-{:x}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * 1e15) as u64
        );
        if let Some(Err(e)) =
            storage().map(|s| s.set_item(CHECKOUT_KEY, &format!("{k} {fingerprint}")))
        {
            leptos::logging::warn!("checkout key not saved: {e:?}");
        }
        k
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = fingerprint;
        String::from("server-side-never-used")
    }
}

/// Forgets the key once its checkout has succeeded.
pub fn forget_checkout_key() {
    #[cfg(feature = "hydrate")]
    if let Some(Err(e)) = storage().map(|s| s.remove_item(CHECKOUT_KEY)) {
        leptos::logging::warn!("checkout key not removed: {e:?}");
    }
}
