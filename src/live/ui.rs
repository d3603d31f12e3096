//! The pages of livestream sales.

use super::api::{self, FeaturedListing, LiveCounters, LiveEventCard, LiveState};
use crate::domain::calendar::date_time_of;
use crate::domain::money::Fen;
use crate::i18n::{tr, T};
use crate::orders::cart::{use_cart, CartItem};
use crate::ui::meta::{PageMeta, Words};
use crate::ui::{ErrorNotice, Money, Pager};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

fn status_text(s: &str) -> T {
    match s {
        "live" => T::live_status_live,
        "ended" => T::live_status_ended,
        _ => T::live_status_scheduled,
    }
}

#[component]
fn StatusBadge(status: String) -> impl IntoView {
    let class = if status == "live" {
        "badge badge-live"
    } else {
        "badge"
    };
    let t = status_text(&status);
    view! { <span class=class data-testid="live-status">{tr(t)}</span> }
}

/// An event as a card in a list.
#[component]
pub fn EventCard(card: LiveEventCard) -> impl IntoView {
    let href = format!("/live/{}", card.id);
    view! {
        <li class="card live-card" data-testid="live-card">
            // The same place as the title's link: hidden from screen readers and the tab order,
            // so each card is one named link.
            <A href=href.clone() attr:class="live-cover-link" attr:aria-hidden="true" attr:tabindex="-1">
                {match card.cover.clone() {
                    Some(src) => view! { <img class="live-cover" src=src alt="" width="480" height="360" loading="lazy"/> }.into_any(),
                    None => view! { <div class="live-cover live-cover-empty" aria-hidden="true">"直播"</div> }.into_any(),
                }}
            </A>
            <div class="live-card-body">
                <p><StatusBadge status=card.status.clone()/> " "
                   <a class="muted" href=format!("/county/{}", card.county_code)>{card.county_name.clone()}</a></p>
                <h3><A href=href>{card.title.clone()}</A></h3>
                <p class="muted">{card.host_name.clone()} " · " {date_time_of(card.starts_at)}</p>
                {(card.status == "scheduled").then(|| view! {
                    <p><a href=format!("/live/{}/calendar.ics", card.id) data-testid="card-ics">{tr(T::live_remind)}</a></p>
                })}
                {card.results.clone().map(|r| view! {
                    <p class="live-results">
                        {tr(T::live_gmv)} " " <Money fen=r.gmv_fen/> " · "
                        {tr(T::live_households)} " " <strong>{r.households}</strong> " · "
                        {tr(T::live_income)} " " <Money fen=r.income_fen/>
                    </p>
                })}
                {card.replay_url.clone().map(|u| view! { <p><a href=u rel="noopener noreferrer">{tr(T::live_replay)}</a></p> })}
            </div>
        </li>
    }
}

/// Live and upcoming events on the home page (nothing when there are none).
#[component]
pub fn HomeLive() -> impl IntoView {
    let events = Resource::new(|| (), |_| api::live_events(None, None));
    view! {
        <Suspense fallback=|| ()>
            {move || events.get().and_then(Result::ok).and_then(|l| {
                let cards: Vec<LiveEventCard> = l.live.into_iter().chain(l.upcoming).take(4).collect();
                (!cards.is_empty()).then(|| view! {
                    <section class="section" aria-labelledby="home-live-title" data-testid="home-live">
                        <h2 id="home-live-title">{tr(T::live_title)}</h2>
                        <ul class="live-grid">
                            {cards.into_iter().map(|c| view! { <EventCard card=c/> }).collect_view()}
                        </ul>
                        <p><A href="/live">{tr(T::live_all)}</A></p>
                    </section>
                })
            })}
        </Suspense>
    }
}

/// `/live`: live now, to come, and past events with their results.
#[component]
pub fn LiveListPage() -> impl IntoView {
    let query = use_query_map();
    let data = Resource::new(
        move || query.with(|q| q.get("after")),
        |after| api::live_events(after, None),
    );
    view! {
        <section class="section">
            <PageMeta title=T::live_title description=T::meta_live/>
            <h1>{tr(T::live_title)}</h1>
            <p class="lead">{tr(T::live_intro)}</p>
            <Suspense fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(l) => view! {
                        {l.can_host.then(|| view! { <p><A href="/live/new" attr:class="button primary">{tr(T::live_new)}</A></p> })}
                        <h2>{tr(T::live_now)}</h2>
                        {if l.live.is_empty() {
                            view! { <p class="empty">{tr(T::live_none_now)}</p> }.into_any()
                        } else {
                            view! { <ul class="live-grid" data-testid="live-now">{l.live.into_iter().map(|c| view! { <EventCard card=c/> }).collect_view()}</ul> }.into_any()
                        }}
                        <h2>{tr(T::live_upcoming)}</h2>
                        {if l.upcoming.is_empty() {
                            view! { <p class="empty">{tr(T::live_none_upcoming)}</p> }.into_any()
                        } else {
                            view! { <ul class="live-grid" data-testid="live-upcoming">{l.upcoming.into_iter().map(|c| view! { <EventCard card=c/> }).collect_view()}</ul> }.into_any()
                        }}
                        <h2>{tr(T::live_past)}</h2>
                        {if l.past.items.is_empty() {
                            view! { <p class="empty">{tr(T::live_none_past)}</p> }.into_any()
                        } else {
                            view! { <ul class="live-grid" data-testid="live-past">{l.past.items.into_iter().map(|c| view! { <EventCard card=c/> }).collect_view()}</ul> }.into_any()
                        }}
                        <Pager key="after" next=l.past.next label=T::live_past first_text=T::pages_first next_text=T::pages_next/>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The event's state, kept current from its server-sent events once the page has hydrated
/// (the browser's EventSource reconnects by itself), and a clock in the server's time for the
/// countdowns.
fn live_signals(initial: LiveState) -> (RwSignal<LiveState>, RwSignal<i64>) {
    let state = RwSignal::new(initial.clone());
    let clock = RwSignal::new(initial.now);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let offset = StoredValue::new(initial.now - (js_sys::Date::now() / 1000.0) as i64);
        match web_sys::EventSource::new(&format!("/live/{}/stream", initial.event_id)) {
            Ok(es) => {
                let source = es.clone();
                let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                    move |ev: web_sys::MessageEvent| {
                        let Some(text) = ev.data().as_string() else {
                            return;
                        };
                        match serde_json::from_str::<LiveState>(&text) {
                            Ok(s) => {
                                offset.set_value(s.now - (js_sys::Date::now() / 1000.0) as i64);
                                // The event's last state: nothing more will come.
                                if s.status == "ended" {
                                    source.close();
                                }
                                state.set(s);
                            }
                            Err(e) => leptos::logging::warn!("live state: {e}"),
                        }
                    },
                );
                es.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                let kept = StoredValue::new_local((es, on_message));
                on_cleanup(move || kept.with_value(|(es, _)| es.close()));
            }
            Err(e) => leptos::logging::warn!("live stream: {e:?}"),
        }
        match set_interval_with_handle(
            move || clock.set((js_sys::Date::now() / 1000.0) as i64 + offset.get_value()),
            std::time::Duration::from_secs(1),
        ) {
            Ok(h) => on_cleanup(move || h.clear()),
            Err(e) => leptos::logging::warn!("clock: {e:?}"),
        }
    }
    (state, clock)
}

/// The lengths a flash sale may be given in the console.
const FLASH_DURATIONS: [(i64, T); 6] = [
    (30, T::live_secs_30),
    (60, T::live_mins_1),
    (180, T::live_mins_3),
    (300, T::live_mins_5),
    (600, T::live_mins_10),
    (1800, T::live_mins_30),
];

/// `m:ss` left until `until`.
fn countdown(until: i64, now: i64) -> String {
    let left = (until - now).max(0);
    format!("{}:{:02}", left / 60, left % 60)
}

/// The running flash price of a listing, if there is one at `now`.
fn running_flash(state: &LiveState, listing: i64, now: i64) -> Option<api::FlashOffer> {
    state
        .flash
        .iter()
        .find(|f| {
            f.listing_id == listing
                && crate::domain::live::flash_applies(&state.status, f.starts_at, f.ends_at, now)
        })
        .cloned()
}

#[component]
fn Counters(counters: Signal<LiveCounters>) -> impl IntoView {
    view! {
        <dl class="live-counters" data-testid="live-counters" aria-live="polite">
            <div><dt>{tr(T::live_orders)}</dt><dd data-testid="counter-orders">{move || counters.get().orders}</dd></div>
            <div><dt>{tr(T::live_units)}</dt><dd data-testid="counter-units">{move || counters.get().units}</dd></div>
            <div><dt>{tr(T::live_gmv)}</dt><dd data-testid="counter-gmv">{move || Fen::new(counters.get().gmv_fen).to_string()}</dd></div>
            <div><dt>{tr(T::live_households)}</dt><dd data-testid="counter-households">{move || counters.get().households}</dd></div>
            <div><dt>{tr(T::live_income)}</dt><dd data-testid="counter-income">{move || Fen::new(counters.get().income_fen).to_string()}</dd></div>
        </dl>
    }
}

/// One featured listing with its live price and its buy buttons: a form to `/buy` at the
/// event's price first, which works without a script; once hydrated, "加入购物车" fills the cart.
#[component]
fn FeaturedItem(
    event_id: i64,
    item: FeaturedListing,
    state: RwSignal<LiveState>,
    clock: RwSignal<i64>,
) -> impl IntoView {
    let cart = use_cart();
    let lang = crate::i18n::use_lang();
    let c = item.card.clone();
    let id = c.id;
    let added = RwSignal::new(false);
    let flash = move || running_flash(&state.get(), id, clock.get());
    let pinned = move || state.get().pinned_listing_id == Some(id);
    let price = move || flash().map_or(c.price_fen, |f| f.price_fen);
    let title = c.title.clone();
    let title_en = c.title_en.clone();
    let shown = (c.title.clone(), c.title_en.clone());
    let unit = c.unit.clone();
    let add = move |()| {
        cart.add(CartItem {
            listing_id: id,
            title: title.clone(),
            title_en: title_en.clone(),
            unit: unit.clone(),
            price_fen: price(),
            quantity: 1,
            event_id: Some(event_id),
        });
        added.set(true);
    };
    let on_sale = c.status == "on_sale";
    let normal = c.price_fen;
    view! {
        <li class="card live-item" class:pinned=pinned data-testid="featured" data-listing=id>
            {c.photo.clone().map(|src| view! { <img src=src alt="" width="480" height="360" loading="lazy"/> })}
            <div class="live-item-body">
                {move || pinned().then(|| view! { <p class="badge badge-live">{tr(T::live_pinned)}</p> })}
                <h3><A href=format!("/listing/{id}")>{move || lang.get().pick(&shown.0, &shown.1)}</A></h3>
                <p class="muted">{c.seller_name.clone()} " · " {c.origin.clone()}
                    {c.stalled.then(|| view! { " · " <span class="badge badge-near">{tr(T::badge_stalled)}</span> })}</p>
                <p class="price" data-testid="featured-price">
                    {move || match flash() {
                        Some(f) => view! {
                            <span class="flash-price">{Fen::new(f.price_fen).to_string()}</span>
                            " " <s class="muted">{Fen::new(normal).to_string()}</s>
                        }.into_any(),
                        None => view! { <span>{Fen::new(normal).to_string()}</span> }.into_any(),
                    }}
                    " / " {c.unit.clone()}
                </p>
                {move || flash().map(|f| view! {
                    <p class="flash-terms">
                        <span class="badge badge-live" data-testid="flash-countdown">{tr(T::live_flash)} " " {countdown(f.ends_at, clock.get())}</span>
                        {f.cap.map(|cap| view! { " " <span class="muted">{tr(T::live_flash_left)} " " {(cap - f.sold).max(0)}</span> })}
                        {f.per_buyer_limit.map(|n| view! { " · " <span class="muted">{tr(T::live_flash_limit)} " " {n}</span> })}
                    </p>
                })}
                {on_sale.then(|| view! {
                    // A form first (see the listing page): without a script, /buy at the event's price.
                    <form method="get" action="/buy" class="buy-row">
                        <input type="hidden" name="listing" value=id/>
                        <input type="hidden" name="event" value=event_id/>
                        <button type="submit" class="button primary" data-testid="live-add"
                            on:click=move |ev| { ev.prevent_default(); add(()); }>{tr(T::add_to_cart)}</button>
                        <button type="submit" class="button" data-testid="live-buy-now">{tr(T::buy_now)}</button>
                        " " <A href="/cart">{tr(T::nav_cart)}</A>
                    </form>
                    <p class="added" role="status">{move || added.get().then(|| tr(T::added_to_cart)())}</p>
                })}
            </div>
        </li>
    }
}

/// `/live/:id`: the stream, the pinned product with its countdown, the line-up with live prices
/// and the counters.
#[component]
pub fn LiveEventPage() -> impl IntoView {
    let id = crate::ui::use_id_param();
    let data = Resource::new(id, api::live_event);
    view! {
        <Suspense fallback=move || view! { <p>{tr(T::loading)}</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                Ok(v) => {
                    let (state, clock) = live_signals(v.state.clone());
                    let event_id = v.card.id;
                    let counters = Signal::derive(move || state.get().counters);
                    let status = move || state.get().status;
                    let card = v.card.clone();
                    view! {
                        <PageMeta
                            title=Words::same(card.title.clone())
                            description=Words::each(
                                format!("{}的直播带货：{}。边看边买，每一单都记入受益农户的收入台账。", card.county_name, card.title),
                                format!("Livestream sale in {}: {}. Buy while you watch; every order is recorded in the income ledger of the households it benefits.", card.county_name, card.title),
                            )
                            image=card.cover.clone()/>
                        <article class="live-page" data-testid="live-page">
                            <header class="live-head">
                                <p><span data-testid="live-status-now">{move || tr(status_text(&status()))()}</span> " · "
                                   <a href=format!("/county/{}", card.county_code)>{card.county_name.clone()}</a></p>
                                <h1>{card.title.clone()}</h1>
                                <p class="muted">{tr(T::live_host)} " " {card.host_name.clone()} " · " {date_time_of(card.starts_at)} " – " {date_time_of(card.ends_at)}</p>
                            </header>
                            <div class="live-stage">
                                {v.stream_url.clone().map(|src| view! {
                                    <video class="live-video" controls=true playsinline=true preload="none" src=src poster=card.cover.clone().unwrap_or_default()>
                                        {tr(T::live_no_video)}
                                    </video>
                                })}
                                {v.external_url.clone().map(|u| view! {
                                    <p><a class="button" href=u rel="noopener noreferrer" data-testid="live-external">
                                        {tr(T::live_watch_on)} " " {v.external_platform.clone().unwrap_or_default()}
                                    </a></p>
                                })}
                                {card.replay_url.clone().map(|u| view! { <p><a href=u rel="noopener noreferrer">{tr(T::live_replay)}</a></p> })}
                                {(card.status == "scheduled").then(|| view! {
                                    <p><a href=format!("/live/{event_id}/calendar.ics") data-testid="live-ics">{tr(T::live_remind)}</a></p>
                                })}
                            </div>
                            <Counters counters/>
                            {v.can_run.then(|| view! {
                                <p class="actions">
                                    <A href=format!("/live/{event_id}/console")>{tr(T::live_console)}</A> " · "
                                    <A href=format!("/live/{event_id}/report")>{tr(T::live_report)}</A>
                                </p>
                            })}
                            <h2>{tr(T::live_lineup)}</h2>
                            {if v.featured.is_empty() {
                                view! { <p class="empty">{tr(T::live_no_lineup)}</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="live-items">
                                        {v.featured.clone().into_iter().map(|item| view! { <FeaturedItem event_id item state clock/> }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </article>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

/// `/live/new`: schedule an event.
#[component]
pub fn LiveNewPage() -> impl IntoView {
    let create = ServerAction::<api::CreateEvent>::new();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            navigate(&format!("/live/{id}/console"), Default::default());
        }
    });
    view! {
        <section class="section narrow">
            <PageMeta title=T::live_new description=T::meta_site private=true/>
            <h1>{tr(T::live_new)}</h1>
            <ActionForm action=create attr:class="form" attr:data-testid="live-new-form">
                <label for="live-title">{tr(T::live_field_title)}</label>
                <input id="live-title" name="title" required maxlength="60"/>
                <label for="live-host">{tr(T::live_field_host)}</label>
                <input id="live-host" name="host_name" required maxlength="40"/>
                <label for="live-county">{tr(T::live_field_county)}</label>
                <input id="live-county" name="county" required inputmode="numeric" pattern="[0-9]{6}" maxlength="6"/>
                <label for="live-start">{tr(T::live_field_start)}</label>
                <input id="live-start" name="starts_at" type="datetime-local" required/>
                <label for="live-end">{tr(T::live_field_end)}</label>
                <input id="live-end" name="ends_at" type="datetime-local" required/>
                <label for="live-stream">{tr(T::live_field_stream)}</label>
                <input id="live-stream" name="stream_url" type="url" maxlength="500" placeholder="https://…/live.m3u8"/>
                <label for="live-external">{tr(T::live_field_external)}</label>
                <input id="live-external" name="external_url" type="url" maxlength="500" placeholder="https://live.douyin.com/…"/>
                <label for="live-host-login">{tr(T::live_field_host_login)}</label>
                <input id="live-host-login" name="host_login" maxlength="100"/>
                <div class="form-error">{move || create.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}</div>
                <button type="submit" class="button primary">{tr(T::live_new)}</button>
            </ActionForm>
        </section>
    }
}

/// `/live/:id/console`: go live and end, pin, start a flash sale, build the line-up, see the
/// orders arriving and the counters.
#[component]
pub fn LiveConsolePage() -> impl IntoView {
    let id = crate::ui::use_id_param();
    let status = ServerAction::<api::SetEventStatus>::new();
    let pin = ServerAction::<api::PinListing>::new();
    let flash = ServerAction::<api::StartFlash>::new();
    let feature = ServerAction::<api::FeatureListing>::new();
    let unfeature = ServerAction::<api::UnfeatureListing>::new();
    let cover = ServerAction::<api::SetCover>::new();
    let data = Resource::new(
        move || {
            (
                id(),
                status.version().get()
                    + pin.version().get()
                    + flash.version().get()
                    + feature.version().get()
                    + unfeature.version().get()
                    + cover.version().get(),
            )
        },
        |(id, _)| api::live_console(id),
    );
    let error = move || {
        [
            status.value().get().and_then(Result::err),
            pin.value().get().and_then(Result::err),
            flash.value().get().and_then(Result::err),
            feature.value().get().and_then(Result::err),
            unfeature.value().get().and_then(Result::err),
            cover.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
    };
    view! {
        <Suspense fallback=move || view! { <p>{tr(T::loading)}</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                Ok(c) => {
                    let v = c.event.clone();
                    let event_id = v.card.id;
                    let (state, clock) = live_signals(v.state.clone());
                    let counters = Signal::derive(move || state.get().counters);
                    // A paid order moved the counters: show it among the orders arriving.
                    Effect::new(move |prev: Option<LiveCounters>| {
                        let now = counters.get();
                        if prev.is_some_and(|p| p != now) {
                            data.refetch();
                        }
                        now
                    });
                    let st = v.card.status.clone();
                    let featured_ids: Vec<i64> = v.featured.iter().map(|f| f.card.id).collect();
                    view! {
                        <section class="section live-console" data-testid="live-console">
                            <PageMeta title=T::live_console description=T::meta_site private=true/>
                            <h1>{tr(T::live_console)} " · " {v.card.title.clone()}</h1>
                            <p><StatusBadge status=st.clone()/> " " <A href=format!("/live/{event_id}")>{tr(T::live_view_page)}</A>
                               " · " <A href=format!("/live/{event_id}/report")>{tr(T::live_report)}</A></p>
                            <div class="form-error">{move || error().map(|e| view! { <ErrorNotice error=e/> })}</div>
                            <div class="actions">
                                {(st == "scheduled").then(|| view! {
                                    <ActionForm action=status attr:class="inline-form">
                                        <input type="hidden" name="event_id" value=event_id/>
                                        <input type="hidden" name="status" value="live"/>
                                        <button type="submit" class="button primary" data-testid="go-live">{tr(T::live_go_live)}</button>
                                    </ActionForm>
                                })}
                                {(st != "ended").then(|| view! {
                                    <ActionForm action=status attr:class="inline-form">
                                        <input type="hidden" name="event_id" value=event_id/>
                                        <input type="hidden" name="status" value="ended"/>
                                        <label for="replay">{tr(T::live_field_replay)}</label>
                                        <input id="replay" name="replay_url" type="url" maxlength="500"/>
                                        <button type="submit" class="button" data-testid="end-live">{tr(T::live_end)}</button>
                                    </ActionForm>
                                })}
                            </div>
                            <Counters counters/>
                            <h2>{tr(T::live_lineup)}</h2>
                            <ul class="console-items">
                                {v.featured.clone().into_iter().map(|f| {
                                    let lid = f.card.id;
                                    let fid = move |s: &str| format!("f{lid}-{s}");
                                    view! {
                                        <li class="card console-item" data-testid="console-item">
                                            <h3>{f.card.title.clone()} " · " {Fen::new(f.card.price_fen).to_string()}</h3>
                                            <p class="muted">{move || running_flash(&state.get(), lid, clock.get()).map(|fl| format!("{} {} · {}", tr(T::live_flash)(), Fen::new(fl.price_fen), countdown(fl.ends_at, clock.get())))}</p>
                                            <div class="actions">
                                                <ActionForm action=pin attr:class="inline-form">
                                                    <input type="hidden" name="event_id" value=event_id/>
                                                    <input type="hidden" name="listing_id" value=lid/>
                                                    <button type="submit" class="button">{tr(T::live_pin)}</button>
                                                </ActionForm>
                                                {f.card.photo.is_some().then(|| view! {
                                                    <ActionForm action=cover attr:class="inline-form">
                                                        <input type="hidden" name="event_id" value=event_id/>
                                                        <input type="hidden" name="listing_id" value=lid/>
                                                        <button type="submit" class="button" data-testid="set-cover">{tr(T::live_set_cover)}</button>
                                                    </ActionForm>
                                                })}
                                                <ActionForm action=unfeature attr:class="inline-form">
                                                    <input type="hidden" name="event_id" value=event_id/>
                                                    <input type="hidden" name="listing_id" value=lid/>
                                                    <button type="submit" class="link-button">{tr(T::live_unfeature)}</button>
                                                </ActionForm>
                                            </div>
                                            <details class="step">
                                                <summary>{tr(T::live_start_flash)}</summary>
                                                <ActionForm action=flash attr:class="form">
                                                    <input type="hidden" name="event_id" value=event_id/>
                                                    <input type="hidden" name="listing_id" value=lid/>
                                                    <label for=fid("price")>{tr(T::live_field_flash_price)}</label>
                                                    <input id=fid("price") name="price" required inputmode="decimal"/>
                                                    <label for=fid("seconds")>{tr(T::live_field_duration)}</label>
                                                    <select id=fid("seconds") name="seconds">
                                                        {FLASH_DURATIONS.iter().map(|(s, t)| view! { <option value=*s selected=*s == 300>{tr(*t)}</option> }).collect_view()}
                                                    </select>
                                                    <label for=fid("cap")>{tr(T::live_field_cap)}</label>
                                                    <input id=fid("cap") name="cap" inputmode="numeric"/>
                                                    <label for=fid("limit")>{tr(T::live_field_limit)}</label>
                                                    <input id=fid("limit") name="per_buyer_limit" inputmode="numeric"/>
                                                    <button type="submit" class="button primary" data-testid="start-flash">{tr(T::live_start_flash)}</button>
                                                </ActionForm>
                                            </details>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            {(v.state.pinned_listing_id.is_some()).then(|| view! {
                                <ActionForm action=pin attr:class="inline-form">
                                    <input type="hidden" name="event_id" value=event_id/>
                                    <button type="submit" class="link-button">{tr(T::live_unpin)}</button>
                                </ActionForm>
                            })}
                            <h2>{tr(T::live_orders_arriving)}</h2>
                            {if c.orders.is_empty() {
                                view! { <p class="empty">{tr(T::live_no_orders)}</p> }.into_any()
                            } else {
                                view! {
                                    <div class="table-wrap"><table class="table">
                                        <thead><tr><th>{tr(T::live_col_order)}</th><th>{tr(T::live_col_item)}</th><th>{tr(T::live_units)}</th><th>{tr(T::live_gmv)}</th><th>{tr(T::live_col_status)}</th></tr></thead>
                                        <tbody>
                                            {c.orders.clone().into_iter().map(|o| view! {
                                                <tr><td>{o.order_id} " · " {date_time_of(o.created_at)}</td><td>{o.title.clone()}</td><td>{o.units}</td><td><Money fen=o.goods_fen/></td><td>{tr(crate::orders::status_text(&o.status))}</td></tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table></div>
                                }.into_any()
                            }}
                            <h2>{tr(T::live_suggestions)}</h2>
                            <ul class="plain-list">
                                {c.suggestions.clone().into_iter().filter(|s| !featured_ids.contains(&s.id)).map(|s| view! {
                                    <li>
                                        <ActionForm action=feature attr:class="inline-form">
                                            <input type="hidden" name="event_id" value=event_id/>
                                            <input type="hidden" name="listing_id" value=s.id/>
                                            <button type="submit" class="link-button" data-testid="feature">{tr(T::live_feature)}</button>
                                        </ActionForm>
                                        " " {s.title.clone()} " · " {Fen::new(s.price_fen).to_string()}
                                        {s.stalled.then(|| view! { " " <span class="badge badge-near">{tr(T::badge_stalled)}</span> })}
                                    </li>
                                }).collect_view()}
                            </ul>
                        </section>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

/// `/live/:id/report`: what the event sold, per village, against the county's ordinary day.
#[component]
pub fn LiveReportPage() -> impl IntoView {
    let id = crate::ui::use_id_param();
    let data = Resource::new(id, api::live_report);
    view! {
        <Suspense fallback=move || view! { <p>{tr(T::loading)}</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                Ok(r) => {
                    let id = r.card.id;
                    let t = r.totals.clone();
                    view! {
                        <section class="section" data-testid="live-report">
                            <PageMeta title=T::live_report description=T::meta_site private=true/>
                            <h1>{tr(T::live_report)} " · " {r.card.title.clone()}</h1>
                            <p class="muted">{r.card.county_name.clone()} " · " {date_time_of(r.card.starts_at)}</p>
                            <dl class="live-counters">
                                <div><dt>{tr(T::live_orders)}</dt><dd>{t.orders}</dd></div>
                                <div><dt>{tr(T::live_units)}</dt><dd>{t.units}</dd></div>
                                <div><dt>{tr(T::live_buyers)}</dt><dd>{t.buyers}</dd></div>
                                <div><dt>{tr(T::live_gmv)}</dt><dd data-testid="report-gmv"><Money fen=t.gmv_fen/></dd></div>
                                <div><dt>{tr(T::live_households)}</dt><dd>{t.households}</dd></div>
                                <div><dt>{tr(T::live_income)}</dt><dd data-testid="report-income"><Money fen=t.income_fen/></dd></div>
                            </dl>
                            {if r.baseline_gmv_per_day_fen > 0 {
                                // How many ordinary days the event sold, to one decimal.
                                let times = t.gmv_fen.saturating_mul(10) / r.baseline_gmv_per_day_fen;
                                view! {
                                    <p data-testid="report-baseline">{tr(T::live_baseline)} " " {tr(T::live_gmv)} " " <Money fen=r.baseline_gmv_per_day_fen/> " · " {tr(T::live_income)} " " <Money fen=r.baseline_income_per_day_fen/>
                                       " · " {tr(T::live_times_ordinary)} " " <strong>{format!("{}.{}", times / 10, times % 10)}</strong></p>
                                }.into_any()
                            } else {
                                view! { <p data-testid="report-baseline">{tr(T::live_no_baseline)}</p> }.into_any()
                            }}
                            <p class="actions">
                                <a href=format!("/live/{id}/report.csv") download="">"CSV"</a> " · "
                                <a href=format!("/live/{id}/report.xlsx") download="">"Excel"</a>
                            </p>
                            <div class="table-wrap"><table class="table">
                                <caption>{tr(T::live_by_village)}</caption>
                                <thead><tr><th>{tr(T::live_col_village)}</th><th>{tr(T::live_households)}</th><th>{tr(T::live_income)}</th></tr></thead>
                                <tbody>
                                    {r.villages.clone().into_iter().map(|v| view! {
                                        <tr><td>{v.name.clone()}</td><td>{v.households}</td><td><Money fen=v.income_fen/></td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        </section>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}
