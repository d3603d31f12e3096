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
    pub unit: String,
    pub price_fen: i64,
    pub quantity: i64,
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
        Effect::new(move |_| {
            if !loaded.get_untracked() {
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

impl Cart {
    pub fn add(&self, item: CartItem) {
        self.0.update(
            |items| match items.iter_mut().find(|i| i.listing_id == item.listing_id) {
                Some(existing) => {
                    existing.quantity = (existing.quantity + item.quantity).min(9_999)
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
    pub fn clear(&self) {
        self.0.set(Vec::new());
    }
    pub fn count(&self) -> i64 {
        self.0.with(|items| items.iter().map(|i| i.quantity).sum())
    }
}

/// The idempotency key of the checkout being attempted: kept until it succeeds, so a retry after
/// a lost answer cannot order twice.
pub fn checkout_key() -> String {
    #[cfg(feature = "hydrate")]
    {
        if let Some(k) = storage().and_then(|s| s.get_item(CHECKOUT_KEY).ok().flatten()) {
            return k;
        }
        let k = format!(
            "web-{:x}-{:x}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * 1e15) as u64
        );
        if let Some(Err(e)) = storage().map(|s| s.set_item(CHECKOUT_KEY, &k)) {
            leptos::logging::warn!("checkout key not saved: {e:?}");
        }
        k
    }
    #[cfg(not(feature = "hydrate"))]
    String::from("server-side-never-used")
}

/// Forgets the key once its checkout has succeeded.
pub fn forget_checkout_key() {
    #[cfg(feature = "hydrate")]
    if let Some(Err(e)) = storage().map(|s| s.remove_item(CHECKOUT_KEY)) {
        leptos::logging::warn!("checkout key not removed: {e:?}");
    }
}
