//! The market: catalogue, listing pages, sellers' listings.

pub mod api;
#[cfg(feature = "ssr")]
pub mod photos;
#[cfg(feature = "ssr")]
pub mod server;

use crate::domain::listing::Category;
use crate::domain::money::Fen;
use crate::error::{AppError, ErrorCode};
use crate::i18n::{tr, use_lang, Lang, T};
use crate::orders::cart::{use_cart, CartItem};
use crate::ui::meta::{PageMeta, Words};
use crate::ui::{ErrorNotice, Money, Pager};
use api::{
    catalogue, listing, market_search, CatalogueQuery, ListingCard, ListingForm, PhotoView,
    SellerDeskView,
};
use leptos::prelude::*;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;

pub fn category_label(code: &str, lang: Lang) -> &'static str {
    match (Category::parse(code), lang) {
        (Some(c), Lang::Zh) => c.zh(),
        (Some(c), Lang::En) => c.en(),
        (None, _) => "",
    }
}

/// The cards of a grid. With `lead`, the first card's photo is fetched at once and before the
/// others: on the home page it is the largest paint on a phone. Not on `/market`, where the
/// filters fill a phone's first screen: a photo fetched at once there became the largest paint
/// and came later than the text (Lighthouse 97 lazy, 86 eager).
pub fn listing_cards(cards: impl IntoIterator<Item = ListingCard>, lead: bool) -> impl IntoView {
    cards
        .into_iter()
        .enumerate()
        .map(|(i, c)| view! { <ListingCardView card=c lead={lead && i == 0}/> })
        .collect_view()
}

#[component]
pub fn ListingCardView(card: ListingCard, #[prop(optional)] lead: bool) -> impl IntoView {
    let lang = use_lang();
    let category = card.category.clone();
    let href = format!("/listing/{}", card.id);
    view! {
        <li class="listing-card" class:is-stalled=card.stalled data-testid="listing-card">
            <a class="listing-link" href=href>
                {match card.photo.clone() {
                    Some(src) => view! {
                        <img class="listing-photo" src=src alt="" width="480" height="360"
                            loading=if lead { "eager" } else { "lazy" } fetchpriority=lead.then_some("high") decoding="async"/>
                    }.into_any(),
                    None => view! {
                        <div class="listing-art" aria-hidden="true" data-category=card.category.clone()>
                            {move || category_label(&category, lang.get()).chars().next().map(String::from)}
                        </div>
                    }.into_any(),
                }}
                <div class="listing-body">
                    <h3 class="listing-title">{let c = card.clone(); move || c.title_in(lang.get())}</h3>
                    <p class="listing-meta">{let c = card.clone(); move || format!("{} {}", c.county_in(lang.get()), c.origin_in(lang.get()))}</p>
                    <p class="listing-price"><Money fen=card.price_fen/> <span class="unit">" / " {let c = card.clone(); move || c.unit_in(lang.get())}</span></p>
                    <p class="badges">
                        {card.stalled.then(|| view! { <span class="badge badge-below">{tr(T::badge_stalled)}</span> })}
                        {card.certified.then(|| view! { <span class="badge badge-above">{tr(T::badge_certified)}</span> })}
                        {(card.status == "sold_out").then(|| view! { <span class="badge">{tr(T::sold_out)}</span> })}
                    </p>
                    {card.stalled_reason.clone().map(|r| view! { <p class="stalled-reason">{r}</p> })}
                </div>
            </a>
            // The seller's shop: a link of its own (links do not nest).
            {(!card.seller_key.is_empty()).then(|| view! {
                <a class="listing-shop" href=format!("/shop/{}", card.seller_key) data-testid="card-shop">{card.seller_name.clone()}</a>
            })}
        </li>
    }
}

/// Home-page sections: stalled produce first, then the rest.
#[component]
pub fn HomeMarket() -> impl IntoView {
    let cards = Resource::new(|| (), |_| catalogue(CatalogueQuery::default()));
    view! {
        <Suspense fallback=move || view! { <p>{tr(T::loading)}</p> }>
            {move || cards.get().map(|r| match r {
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                Ok(page) => {
                    let (mut stalled, mut rest): (Vec<_>, Vec<_>) = page.items.into_iter().partition(|c| c.stalled);
                    // A listing saved without photos (a draft put on sale in a hurry) never
                    // leads the page: those with photos go first, each group in need order.
                    stalled.sort_by_key(|c| c.photo.is_none());
                    rest.sort_by_key(|c| c.photo.is_none());
                    let lead_rest = stalled.is_empty();
                    view! {
                        {(!stalled.is_empty()).then(|| view! {
                            <section class="section urgent" aria-labelledby="stalled-title">
                                <h2 id="stalled-title">{tr(T::home_stalled_title)}</h2>
                                <ul class="listing-grid">
                                    {listing_cards(stalled, true)}
                                </ul>
                            </section>
                        })}
                        <section class="section" aria-labelledby="featured-title">
                            <h2 id="featured-title">{tr(T::home_featured_title)}</h2>
                            <ul class="listing-grid">
                                {listing_cards(rest.into_iter().take(8), lead_rest)}
                            </ul>
                            <p><A href="/market">{tr(T::home_see_all)}</A></p>
                        </section>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

const COUNTIES: &[(&str, &str, &str)] = &[
    ("350123", "罗源县", "Luoyuan"),
    ("350303", "涵江区", "Hanjiang"),
    ("350426", "尤溪县", "Youxi"),
    ("350582", "晋江市", "Jinjiang"),
    ("350625", "长泰县", "Changtai"),
    ("350725", "政和县", "Zhenghe"),
    ("350823", "上杭县", "Shanghang"),
    ("350921", "霞浦县", "Xiapu"),
    ("350923", "屏南县", "Pingnan"),
];

#[component]
pub fn MarketPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let q = move |k: &str| query.with(|m| m.get(k)).filter(|v| !v.is_empty());
    let results = Resource::new(
        move || CatalogueQuery {
            q: q("q"),
            category: q("category"),
            county: q("county"),
            certified: q("certified"),
            stalled: q("stalled"),
            monitored: q("monitored"),
            sort: q("sort"),
            after: q("after"),
        },
        market_search,
    );
    // The filters fold under one control; open when one is set, to show what applies.
    let filtered = move || {
        ["category", "county", "certified", "stalled", "monitored"]
            .iter()
            .any(|k| q(k).is_some())
            || q("sort").is_some_and(|s| s != "need")
    };
    view! {
        <section class="section">
            <PageMeta title=T::market_title description=T::meta_market/>
            <h1>{tr(T::market_title)}</h1>
            <Form method="GET" action="" attr:class="filters" attr:role="search">
                <label class="visually-hidden" for="q">{tr(T::market_search)}</label>
                <input id="q" name="q" type="search" placeholder=tr(T::market_search) value=move || q("q").unwrap_or_default()/>
                <button type="submit" class="button primary">{tr(T::market_search_button)}</button>
                <details class="filter-more" open=filtered data-testid="filters">
                <summary>{tr(T::market_filters)}</summary>
                <div class="filter-fields">
                <label class="visually-hidden" for="category">{tr(T::market_all_categories)}</label>
                <select id="category" name="category">
                    <option value="">{tr(T::market_all_categories)}</option>
                    {Category::ALL.into_iter().map(|c| view! {
                        <option value=c.as_str() selected=move || q("category").as_deref() == Some(c.as_str())>
                            {move || match lang.get() { Lang::Zh => c.zh(), Lang::En => c.en() }}
                        </option>
                    }).collect_view()}
                </select>
                <label class="visually-hidden" for="county">{tr(T::market_all_counties)}</label>
                <select id="county" name="county">
                    <option value="">{tr(T::market_all_counties)}</option>
                    {COUNTIES.iter().map(|(code, zh, en)| view! {
                        <option value=*code selected=move || q("county").as_deref() == Some(*code)>
                            {move || match lang.get() { Lang::Zh => *zh, Lang::En => *en }}
                        </option>
                    }).collect_view()}
                </select>
                <label class="visually-hidden" for="sort">{tr(T::market_sort)}</label>
                <select id="sort" name="sort">
                    {[("need", T::sort_need), ("newest", T::sort_newest), ("price_asc", T::sort_price_asc), ("price_desc", T::sort_price_desc)]
                        .into_iter()
                        .map(|(v, t)| view! { <option value=v selected=move || q("sort").as_deref() == Some(v)>{tr(t)}</option> })
                        .collect_view()}
                </select>
                <label class="check"><input type="checkbox" name="certified" value="1" checked=move || q("certified").is_some()/> {tr(T::market_only_certified)}</label>
                <label class="check"><input type="checkbox" name="stalled" value="1" checked=move || q("stalled").is_some()/> {tr(T::market_only_stalled)}</label>
                <label class="check"><input type="checkbox" name="monitored" value="1" checked=move || q("monitored").is_some()/> {tr(T::market_only_monitored)}</label>
                <button type="submit" class="button">{tr(T::market_apply)}</button>
                </div>
                </details>
            </Form>
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || results.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(r) if r.page.is_empty() && q("after").is_none() => view! {
                        <p class="empty" data-testid="market-empty">{tr(T::market_empty)}</p>
                        {(!r.suggestions.is_empty()).then(|| view! {
                            <h2>{tr(T::market_suggestions)}</h2>
                            <ul class="listing-grid" data-testid="suggestions">
                                {listing_cards(r.suggestions, false)}
                            </ul>
                        })}
                    }.into_any(),
                    Ok(r) => {
                        let count = r.total.map(|n| if r.more { format!("{n}+") } else { n.to_string() });
                        view! {
                            <h2 class="visually-hidden">{tr(T::market_results)}</h2>
                            {count.map(|count| view! {
                                <p class="muted" role="status" data-testid="market-count">
                                    {move || T::market_count.t(lang.get()).replace("{n}", &count)}
                                </p>
                            })}
                            <ul class="listing-grid" data-testid="catalogue">
                                {listing_cards(r.page.items, false)}
                            </ul>
                            <Pager key="after" next=r.page.next label=T::market_pages first_text=T::pages_first next_text=T::pages_next/>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn ListingPage() -> impl IntoView {
    let lang = use_lang();
    let id = crate::ui::use_id_param();
    let refresh = RwSignal::new(0usize);
    let detail = Resource::new(move || (id(), refresh.get()), |(id, _)| listing(id));
    let cart = use_cart();
    let quantity = RwSignal::new(1i64);
    let added = RwSignal::new(false);
    view! {
        <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
            {move || detail.get().map(|r| match r {
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                Ok(d) => {
                    let c = d.card.clone();
                    let item = CartItem { listing_id: c.id, title: c.title.clone(), title_en: c.title_en.clone(), unit: c.unit.clone(), price_fen: c.price_fen, quantity: 1, event_id: None };
                    let on_sale = c.status == "on_sale";
                    let add = move |()| {
                        cart.add(CartItem { quantity: quantity.get_untracked(), ..item.clone() });
                        added.set(true);
                    };
                    view! {
                        <PageMeta
                            title=Words::each(format!("{} · {}", c.title, c.county), format!("{} · {}", c.title_in(Lang::En), c.county_in(Lang::En)))
                            description=Words::each(
                                format!("{}，产自{}{}，{} / {}，{}出售。{}", c.title, c.county, c.origin, Fen::new(c.price_fen), c.unit, c.seller_name,
                                    if d.to_households_per_unit_fen > 0 { format!("每{}有 {} 记入受益农户的收入台账。", c.unit, Fen::new(d.to_households_per_unit_fen)) } else { String::new() }),
                                format!("{} from {} {}, {} per {}, sold by {}.{}", c.title_in(Lang::En), c.county_in(Lang::En), c.origin_in(Lang::En), Fen::new(c.price_fen), c.unit_in(Lang::En), c.seller_name,
                                    if d.to_households_per_unit_fen > 0 { format!(" {} of each {} goes to the income ledger of the households it benefits.", Fen::new(d.to_households_per_unit_fen), c.unit_in(Lang::En)) } else { String::new() }),
                            )
                            image=d.photos.first().map(|p| p.url.clone())/>
                        <article class="listing-page">
                            <Gallery photos=d.photos.clone() title=c.title.clone() category=c.category.clone()/>
                            <div class="listing-main">
                                <h1>{let c = c.clone(); move || c.title_in(lang.get())}</h1>
                                {d.can_edit.then(|| view! {
                                    <p class="page-actions"><A href=format!("/listing/{}/edit", c.id) attr:class="button" attr:data-testid="edit-listing">{tr(T::listing_edit)}</A></p>
                                })}
                                <p class="badges">
                                    {c.stalled.then(|| view! { <span class="badge badge-below">{tr(T::badge_stalled)}</span> })}
                                    {c.certified.then(|| view! { <span class="badge badge-above">{tr(T::badge_certified)}</span> })}
                                </p>
                                {c.stalled_reason.clone().map(|r| view! { <p class="notice notice-warn">{r}</p> })}
                                <p class="price-big"><Money fen=c.price_fen/> <span class="unit">" / " {let c = c.clone(); move || c.unit_in(lang.get())}</span></p>
                                <dl class="facts">
                                    <dt>{tr(T::listing_seller)}</dt>
                                    <dd><a href=format!("/shop/{}", c.seller_key) data-testid="seller-shop">{c.seller_name.clone()}</a></dd>
                                    <dt>{tr(T::listing_origin)}</dt>
                                    <dd>{
                                        let p = c.clone();
                                        let place = move || format!("{} {}", p.county_in(lang.get()), p.origin_in(lang.get()));
                                        // A village has a shop; a listing may come from a township or a county.
                                        if c.origin_code.len() == 12 {
                                            view! { <a href=format!("/shop/v{}", c.origin_code) data-testid="origin-shop">{place}</a> }.into_any()
                                        } else {
                                            view! { <span>{place}</span> }.into_any()
                                        }
                                    }</dd>
                                    {d.harvest_date.clone().map(|h| view! { <dt>{tr(T::listing_harvest)}</dt><dd>{h}</dd> })}
                                    <dt>{tr(T::in_stock)}</dt><dd>{c.stock}</dd>
                                </dl>
                                {on_sale.then(|| view! {
                                    // A form first: before the script has loaded (or without one) either button
                                    // opens /buy with this quantity; once hydrated, "加入购物车" fills the cart.
                                    <form method="get" action="/buy" class="buy-row">
                                        <input type="hidden" name="listing" value=c.id/>
                                        <label for="qty">{tr(T::quantity)}</label>
                                        <input id="qty" name="quantity" type="number" min="1" max="9999" inputmode="numeric"
                                            value="1" prop:value=move || quantity.get().to_string()
                                            on:input=move |ev| quantity.set(event_target_value(&ev).parse::<i64>().unwrap_or(1).clamp(1, 9_999))/>
                                        <button type="submit" class="button primary" data-testid="add-to-cart"
                                            on:click=move |ev| { ev.prevent_default(); add(()); }>{tr(T::add_to_cart)}</button>
                                        <button type="submit" class="button" data-testid="buy-now">{tr(T::buy_now)}</button>
                                    </form>
                                    <p class="added" role="status">{move || added.get().then(|| tr(T::added_to_cart)())}</p>
                                })}
                                <section class="breakdown" aria-labelledby="breakdown-title">
                                    <h2 id="breakdown-title">{tr(T::listing_breakdown)}</h2>
                                    <p>{tr(T::listing_breakdown_lead)} " " <strong><Money fen=d.to_households_per_unit_fen/></strong> " / " <Money fen=c.price_fen/></p>
                                    <ul>
                                        {d.breakdown.iter().map(|b| view! { <li><Money fen=b.amount_fen/> " " {tr(T::listing_goes_to)} " " {b.label.clone()}</li> }).collect_view()}
                                        // The rest of the price: what the seller declared of it, item by
                                        // item, then what is left undeclared, said plainly.
                                        {[(d.costs.costs, T::listing_cost, "breakdown-cost"), (d.costs.logistics, T::listing_logistics, "breakdown-logistics"), (d.costs.margin, T::listing_margin, "breakdown-margin")]
                                            .into_iter()
                                            .filter_map(|(f, t, id)| f.map(|f| view! { <li data-testid=id><Money fen=f.fen()/> " " {tr(t)}</li> }))
                                            .collect_view()}
                                        {
                                            let rest = c.price_fen - d.to_households_per_unit_fen - d.costs.total().fen();
                                            let text = if d.costs.is_empty() { T::listing_rest } else { T::listing_rest_undeclared };
                                            (rest > 0).then(|| view! { <li data-testid="breakdown-rest"><Money fen=rest/> " " {tr(text)}</li> })
                                        }
                                    </ul>
                                    // Never a lead of "¥0.00": before its first paid order, what will happen.
                                    {if d.added_to_incomes_fen > 0 {
                                        view! { <p>{tr(T::listing_added)} " " <strong data-testid="added-to-incomes"><Money fen=d.added_to_incomes_fen/></strong></p> }.into_any()
                                    } else {
                                        view! { <p data-testid="added-to-incomes">{tr(T::listing_added_none)}</p> }.into_any()
                                    }}
                                </section>
                                {d.certificate.clone().map(|cert| view! { <p class="muted">{tr(T::listing_certificate)} ": " {cert}</p> })}
                                {(d.can_edit || d.can_moderate).then(|| view! { <StalledForm listing_id=c.id stalled=c.stalled refresh=refresh/> })}
                                {d.can_moderate.then(|| view! { <CertifyForm listing_id=c.id refresh=refresh/> })}
                                {
                                    // The English description on the English page, where the seller wrote one.
                                    let (zh, en) = (d.description.clone(), d.description_en.clone());
                                    move || {
                                        let text = if lang.get() == Lang::En && !en.is_empty() { en.clone() } else { zh.clone() };
                                        (!text.is_empty()).then(|| view! { <p class="description">{text}</p> })
                                    }
                                }
                                {(!d.stories.is_empty()).then(|| view! {
                                    <section><h2>{tr(T::listing_stories)}</h2>
                                        {d.stories.iter().map(|s| view! { <p class="story">{s.clone()}</p> }).collect_view()}
                                    </section>
                                })}
                                <crate::reviews::ListingReviewsSection listing_id=c.id/>
                                <p><a class="button" href=format!("/shop/{}", c.seller_key)>{tr(T::listing_shop)}</a></p>
                                {on_sale.then(|| view! {
                                    <crate::shops::ShareBox url=d.share_url.clone() qr=format!("/s/l{}/qr.svg", c.id)
                                        title=T::listing_share file=format!("l{}", c.id)/>
                                })}
                            </div>
                        </article>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// The seller's desk: their listings, and a form to list new produce.
#[component]
pub fn SellerPage() -> impl IntoView {
    let save = ServerAction::<api::SaveListing>::new();
    let query = use_query_map();
    let after = move || query.with(|m| m.get("after"));
    let desk = Resource::new(
        move || (save.version().get(), after()),
        |(_, after)| api::seller_desk(after),
    );
    view! {
        <section class="section">
            <PageMeta title=T::seller_title description=T::meta_site private=true/>
            <h1>{tr(T::seller_title)}</h1>
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || desk.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(d) => {
                        view! {
                            <h2 class="visually-hidden">{tr(T::seller_my_listings)}</h2>
                            <ul class="listing-grid" data-testid="my-listings">
                                {listing_cards(d.listings.items.iter().cloned(), false)}
                            </ul>
                            <Pager key="after" next=d.listings.next.clone() label=T::seller_listings_pages first_text=T::pages_first next_text=T::pages_next/>
                            {(!d.shops.is_empty()).then(|| view! {
                                <section class="card" aria-labelledby="my-shops">
                                    <h2 id="my-shops">{tr(T::seller_shops)}</h2>
                                    <ul class="plain-list" data-testid="my-shops">
                                        {d.shops.iter().map(|s| view! {
                                            <li>
                                                {if s.has_page {
                                                    view! { <a href=format!("/shop/{}", s.key)>{s.name.clone()}</a> }.into_any()
                                                } else {
                                                    view! { <span>{s.name.clone()}</span> }.into_any()
                                                }}
                                                " · " <a href=format!("/shop/{}/edit", s.key)>{tr(T::shop_edit)}</a>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                </section>
                            })}
                            <section class="card" aria-labelledby="new-listing">
                                <h2 id="new-listing">{tr(T::seller_new)}</h2>
                                <ListingFields save=save initial=ListingForm {
                                    status: "on_sale".into(),
                                    origin_code: d.default_origin.clone().unwrap_or_default(),
                                    ..Default::default()
                                } desk=d.clone()/>
                            </section>
                            <crate::delivery::SellerTermsForms/>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// Reloads the listing (bumps `refresh`) each time `action` succeeds.
fn refresh_on_success<A>(action: ServerAction<A>, refresh: RwSignal<usize>)
where
    A: leptos::server_fn::ServerFn<Output = ()> + Clone + Send + Sync + 'static,
    A::Error: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            refresh.update(|n| *n += 1);
        }
    });
}

/// Raise or clear the 滞销 flag (the seller, or an official of the county).
#[component]
fn StalledForm(listing_id: i64, stalled: bool, refresh: RwSignal<usize>) -> impl IntoView {
    let action = ServerAction::<api::SetStalled>::new();
    refresh_on_success(action, refresh);
    view! {
        <section class="card tools" aria-labelledby="stalled-form">
            <h2 id="stalled-form">{tr(T::stalled_form_title)}</h2>
            <ActionForm action=action attr:class="form">
                <input type="hidden" name="listing_id" value=listing_id/>
                {if stalled {
                    view! {
                        <input type="hidden" name="stalled" value="false"/>
                        <button type="submit" class="button">{tr(T::stalled_clear)}</button>
                    }.into_any()
                } else {
                    view! {
                        <input type="hidden" name="stalled" value="true"/>
                        <label for="stalled-reason">{tr(T::stalled_reason_field)}</label>
                        <input id="stalled-reason" name="reason" required maxlength="200"/>
                        <label for="stalled-qty">{tr(T::stalled_quantity_field)}</label>
                        <input id="stalled-qty" name="quantity" type="number" min="0"/>
                        <button type="submit" class="button primary">{tr(T::save)}</button>
                    }.into_any()
                }}
                <div class="form-error">{move || action.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}</div>
            </ActionForm>
        </section>
    }
}

/// Record a 扶贫产品 certificate (an official of the county).
#[component]
fn CertifyForm(listing_id: i64, refresh: RwSignal<usize>) -> impl IntoView {
    let action = ServerAction::<api::Certify>::new();
    refresh_on_success(action, refresh);
    view! {
        <section class="card tools" aria-labelledby="certify-form">
            <h2 id="certify-form">{tr(T::certify_title)}</h2>
            <ActionForm action=action attr:class="form">
                <input type="hidden" name="listing_id" value=listing_id/>
                <label for="cert-number">{tr(T::certify_number)}</label>
                <input id="cert-number" name="number" required maxlength="40"/>
                <label for="cert-from">{tr(T::certify_from)}</label>
                <input id="cert-from" name="valid_from" type="date" required/>
                <label for="cert-until">{tr(T::certify_until)}</label>
                <input id="cert-until" name="valid_until" type="date" required/>
                <div class="form-error">{move || action.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}</div>
                <button type="submit" class="button primary">{tr(T::save)}</button>
            </ActionForm>
        </section>
    }
}

/// The listing's photos: a large one and, when there are several, buttons to show each.
#[component]
fn Gallery(photos: Vec<PhotoView>, title: String, category: String) -> impl IntoView {
    if photos.is_empty() {
        let code = category.clone();
        return view! {
            <div class="listing-hero" aria-hidden="true" data-category=code>
                {move || category_label(&category, use_lang().get()).to_owned()}
            </div>
        }
        .into_any();
    }
    let shown = RwSignal::new(0usize);
    let urls: Vec<String> = photos.iter().map(|p| p.url.clone()).collect();
    // A phone takes the 960 px copy; a wide screen (or a dense one) the display copy.
    let srcsets: Vec<Option<String>> = photos
        .iter()
        .map(|p| {
            p.medium_url.as_ref().map(|m| {
                format!(
                    "{} {}w, {m} {}w, {} 1600w",
                    p.thumb_url,
                    api::PHOTO_THUMB_WIDTH,
                    api::PHOTO_MEDIUM_WIDTH,
                    p.url
                )
            })
        })
        .collect();
    let count = photos.len();
    view! {
        <div class="gallery">
            <img class="gallery-main" data-testid="gallery-main" width="1200" height="900" alt=title.clone() fetchpriority="high"
                src=move || urls.get(shown.get()).cloned().unwrap_or_default()
                srcset=move || srcsets.get(shown.get()).cloned().flatten()
                sizes="(min-width: 1100px) 480px, (min-width: 720px) 45vw, 100vw"/>
            {(count > 1).then(|| view! {
                <ul class="gallery-thumbs">
                    {photos.into_iter().enumerate().map(|(i, p)| view! {
                        <li>
                            <button type="button" aria-pressed=move || (shown.get() == i).to_string()
                                aria-label=move || format!("{} {}", tr(T::photo_label)(), i + 1)
                                on:click=move |_| shown.set(i)>
                                <img src=p.thumb_url alt="" width="480" height="360" loading="lazy"/>
                            </button>
                        </li>
                    }).collect_view()}
                </ul>
            })}
        </div>
    }
    .into_any()
}

/// The listing form, for new produce (`initial.id` is `None`) and for editing. On success it
/// opens the listing's page.
#[component]
fn ListingFields(
    save: ServerAction<api::SaveListing>,
    initial: ListingForm,
    desk: SellerDeskView,
) -> impl IntoView {
    let lang = use_lang();
    let editing = initial.id.is_some();
    // A new listing is sent with its photos (`NEW_LISTING_PATH`, multipart); its error comes
    // back in the answer, or (without the script) in the seller desk's address.
    let sent_error = RwSignal::new(None::<AppError>);
    let progress = RwSignal::new(None::<u32>);
    let query = use_query_map();
    let error = move || {
        sent_error
            .get()
            .or_else(|| save.value().get().and_then(Result::err))
            .or_else(|| {
                (!editing)
                    .then(|| query.with(|m| (m.get("listing_error"), m.get("field"))))
                    .and_then(|(c, f)| Some((ErrorCode::parse(&c?)?, f)))
                    .map(|(c, f)| match f {
                        Some(f) if !f.is_empty() => AppError::new(c).field(&f),
                        _ => AppError::new(c),
                    })
            })
    };
    let navigate = leptos_router::hooks::use_navigate();
    let on_submit = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::SubmitEvent| {
            #[cfg(feature = "hydrate")]
            {
                sent_error.set(None);
                let navigate = navigate.clone();
                crate::ui::send::send_form(
                    ev,
                    api::NEW_LISTING_PATH,
                    progress,
                    move |ok, v| match v.get("id").and_then(serde_json::Value::as_i64) {
                        Some(id) if ok => {
                            let to = match v.get("photo_error").and_then(|c| c.as_str()) {
                                Some(code) => {
                                    format!("/listing/{id}/edit?photo_error={code}#photos")
                                }
                                None => format!("/listing/{id}"),
                            };
                            navigate(&to, Default::default());
                        }
                        _ => {
                            progress.set(None);
                            // No answer at all (the network): say the service could not be reached.
                            let fallback = if v.is_null() {
                                ErrorCode::Unavailable
                            } else {
                                ErrorCode::Internal
                            };
                            sent_error.set(Some(
                                serde_json::from_value::<AppError>(v)
                                    .unwrap_or_else(|_| AppError::new(fallback)),
                            ));
                        }
                    },
                );
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (ev, &navigate, progress, sent_error);
        }
    };
    let busy = move || save.pending().get() || progress.get().is_some();
    let v0 = save.version().get_untracked();
    Effect::new(move |_| {
        if save.version().get() > v0 {
            if let Some(Ok(id)) = save.value().get() {
                navigate(&format!("/listing/{id}"), Default::default());
            }
        }
    });
    let is_org = desk.seller_kind == "organisation";
    let is_cadre = desk.seller_kind == "cadre";
    let f = initial;
    let statuses: &[(&str, T)] = if editing {
        &[
            ("on_sale", T::listing_status_on_sale),
            ("draft", T::listing_status_draft),
            ("sold_out", T::listing_status_sold_out),
            ("withdrawn", T::listing_status_withdrawn),
        ]
    } else {
        &[
            ("on_sale", T::listing_status_on_sale),
            ("draft", T::listing_status_draft),
        ]
    };
    let terms_kind = f.terms_kind.clone().unwrap_or_else(|| "per_unit".into());
    let kind = RwSignal::new(terms_kind.clone());
    let price = RwSignal::new(f.price.clone());
    let kind_ref = NodeRef::<leptos::html::Select>::new();
    Effect::new(move |_| {
        if let Some(el) = kind_ref.get() {
            kind.set(el.value());
        }
    });
    // What was typed before the page hydrated counts: read once the input is there.
    let price_ref = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = price_ref.get() {
            price.set(el.value());
        }
    });
    // A cadre's new listing starts from the first paired household's village.
    let villages: Vec<(i64, String)> = desk
        .households
        .iter()
        .map(|h| (h.household_id, h.village_code.clone()))
        .collect();
    let first_village = (is_cadre && !editing)
        .then(|| villages.first().map(|v| v.1.clone()))
        .flatten();
    let origin = first_village
        .clone()
        .unwrap_or_else(|| f.origin_code.clone());
    let county = RwSignal::new(
        first_village
            .map(|v| v.chars().take(6).collect::<String>())
            .unwrap_or_default(),
    );
    let village_of = move |id: &str| {
        villages
            .iter()
            .find(|(h, _)| h.to_string() == id)
            .map(|(_, v)| v.clone())
    };
    let origin_ref = NodeRef::<leptos::html::Select>::new();
    let household_ref = NodeRef::<leptos::html::Select>::new();
    // A household chosen before the page hydrated still limits the origins.
    let village_at_start = village_of.clone();
    Effect::new(move |_| {
        if let Some(v) = household_ref
            .get()
            .and_then(|el| village_at_start(&el.value()))
        {
            county.set(v.chars().take(6).collect());
        }
    });
    let fields = view! {
            {f.id.map(|id| view! { <input type="hidden" name="form[id]" value=id/> })}
            {f.version.map(|v| view! { <input type="hidden" name="form[version]" value=v/> })}
            {f.stock_was.map(|s| view! { <input type="hidden" name="form[stock_was]" value=s/> })}
            {match (is_cadre, editing) {
                (true, false) => Some(view! {
                    <label for="household_id">{tr(T::seller_for_household)}</label>
                    // Choosing the household moves the origin to its village; the origins
                    // outside its county are hidden (the server refuses them either way).
                    <select id="household_id" name="form[household_id]" node_ref=household_ref on:change=move |ev| {
                        if let Some(v) = village_of(&event_target_value(&ev)) {
                            if let Some(el) = origin_ref.get() {
                                el.set_value(&v);
                            }
                            county.set(v.chars().take(6).collect());
                        }
                    }>
                        {desk.households.iter().map(|h| view! { <option value=h.household_id>{h.label.clone()}</option> }).collect_view()}
                    </select>
                }.into_any()),
                (true, true) => f.household_id.map(|h| view! { <input type="hidden" name="form[household_id]" value=h/> }.into_any()),
                _ => None,
            }}
            <label for="title">{tr(T::field_title)}</label>
            <input id="title" name="form[title]" required maxlength="60" value=f.title.clone()/>
            <label for="title_en">{tr(T::field_title_en)}</label>
            <input id="title_en" name="form[title_en]" maxlength="100" lang="en" value=f.title_en.clone().unwrap_or_default()/>
            <label for="category">{tr(T::field_category)}</label>
            <select id="category" name="form[category]">
                {Category::ALL.into_iter().map(|c| view! {
                    <option value=c.as_str() selected=f.category == c.as_str()>{move || match lang.get() { Lang::Zh => c.zh(), Lang::En => c.en() }}</option>
                }).collect_view()}
            </select>
            <label for="unit">{tr(T::field_unit)}</label>
            <input id="unit" name="form[unit]" required maxlength="20" aria-describedby="unit-hint" value=f.unit.clone()/>
            <small id="unit-hint" class="hint">{tr(T::field_unit_hint)}</small>
            <label for="price">{tr(T::field_price)}</label>
            <input id="price" name="form[price]" required inputmode="decimal" value=f.price.clone()
                node_ref=price_ref on:input=move |ev| price.set(event_target_value(&ev))/>
            <label for="stock">{tr(T::field_stock)}</label>
            <input id="stock" name="form[stock]" type="number" min="0" required value=f.stock/>
            <label for="origin">{tr(T::field_origin)}</label>
            {origin_field(&desk.origins, &origin, county, origin_ref)}
            <label for="harvest">{tr(T::field_harvest)}</label>
            <input id="harvest" name="form[harvest_date]" type="date" value=f.harvest_date.clone().unwrap_or_default()/>
            <label for="surcharge">{tr(T::listing_surcharge)}</label>
            <input id="surcharge" name="form[shipping_surcharge]" inputmode="decimal" value=f.shipping_surcharge.clone().unwrap_or_default()/>
            <label for="description">{tr(T::field_description)}</label>
            <crate::ui::TextArea id="description" name="form[description]" rows=3 maxlength=2000 value=f.description.clone()/>
            <label for="description_en">{tr(T::field_description_en)}</label>
            <crate::ui::TextArea id="description_en" name="form[description_en]" rows=3 maxlength=2000 value=f.description_en.clone().unwrap_or_default()/>
            {is_org.then(|| view! {
                <label for="terms_kind">{tr(T::field_terms_kind)}</label>
                <select id="terms_kind" name="form[terms_kind]" node_ref=kind_ref on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="per_unit" selected=terms_kind == "per_unit">{tr(T::terms_per_unit)}</option>
                    <option value="shares" selected=terms_kind == "shares">{tr(T::terms_shares)}</option>
                </select>
                <TermsEditor households=desk.households.clone() initial=f.terms.clone().unwrap_or_default() kind=kind price=price/>
                <fieldset class="costs" aria-describedby="costs-hint">
                    <legend>{tr(T::field_costs)}</legend>
                    <small id="costs-hint" class="hint">{tr(T::field_costs_hint)}</small>
                    <label for="cost">{tr(T::field_cost)}</label>
                    <input id="cost" name="form[cost]" inputmode="decimal" value=f.cost.clone().unwrap_or_default()/>
                    <label for="logistics">{tr(T::field_logistics)}</label>
                    <input id="logistics" name="form[logistics]" inputmode="decimal" value=f.logistics.clone().unwrap_or_default()/>
                    <label for="margin">{tr(T::field_margin)}</label>
                    <input id="margin" name="form[margin]" inputmode="decimal" value=f.margin.clone().unwrap_or_default()/>
                </fieldset>
            })}
            <label for="status">{tr(T::field_status)}</label>
            <select id="status" name="form[status]">
                {statuses.iter().map(|(v, t)| view! { <option value=*v selected=f.status == *v>{tr(*t)}</option> }).collect_view()}
            </select>
            {(!editing).then(|| view! {
                <label for="new-photo">{tr(T::photos_choose)}</label>
                <input id="new-photo" name="photo" type="file" accept="image/jpeg,image/png,image/webp" multiple aria-describedby="new-photo-hint"/>
                <small id="new-photo-hint" class="hint">{tr(T::photos_hint)}</small>
            })}
            <div class="form-error">{move || error().map(|e| view! { <ErrorNotice error=e/> })}</div>
            {move || progress.get().map(|p| view! {
                <progress max="100" value=p aria-label=move || T::photos_upload.t(lang.get())>{p} "%"</progress>
            })}
            <button type="submit" class="button primary" disabled=busy>{tr(T::save)}</button>
    };
    if editing {
        view! { <ActionForm action=save attr:class="form" attr:data-testid="listing-form">{fields}</ActionForm> }.into_any()
    } else {
        // A plain multipart form: before the script (or without one) it posts itself, photos
        // and all, and the server sends the browser on to the new listing.
        view! {
            <form class="form" data-testid="listing-form" method="post" action=api::NEW_LISTING_PATH
                enctype="multipart/form-data" on:submit=on_submit>{fields}</form>
        }
        .into_any()
    }
}

/// The co-op's terms as a list of its linked households, one value each (yuan per unit, or a
/// percent of the price), with a filter by name or village and the running total against the
/// price. Plain inputs (`form[terms_by][id]`), so it works before and without the script; the
/// total is the same parse and check the server makes (`BenefitTerms`).
#[component]
fn TermsEditor(
    households: Vec<api::SellableFor>,
    initial: String,
    kind: RwSignal<String>,
    price: RwSignal<String>,
) -> impl IntoView {
    use crate::domain::allocation::{AllocationError, BenefitTerms};
    let start: std::collections::BTreeMap<i64, String> = initial
        .split([',', '，'])
        .filter_map(|p| {
            let (h, v) = p.split_once([':', '：'])?;
            Some((h.trim().parse().ok()?, v.trim().to_owned()))
        })
        .collect();
    let filter = RwSignal::new(String::new());
    let mut rows: Vec<(api::SellableFor, RwSignal<String>)> = households
        .into_iter()
        .map(|h| {
            let v = start.get(&h.household_id).cloned().unwrap_or_default();
            (h, RwSignal::new(v))
        })
        .collect();
    // A household the terms name that the desk does not list (no longer linked, or past the
    // desk's first 500) keeps its row, so saving never drops its share unseen.
    for (id, v) in &start {
        if !rows.iter().any(|(h, _)| h.household_id == *id) {
            let h = api::SellableFor {
                household_id: *id,
                label: format!("#{id}"),
                village_code: String::new(),
            };
            rows.push((h, RwSignal::new(v.clone())));
        }
    }
    let values: Vec<(i64, RwSignal<String>)> =
        rows.iter().map(|(h, v)| (h.household_id, *v)).collect();
    let many = rows.len() > 6;
    let total = Memo::new(move |_| {
        let texts: Vec<(i64, String)> = values.iter().map(|(h, v)| (*h, v.get())).collect();
        let k = kind.get();
        let unit_price = Fen::parse_yuan(&price.get()).ok().filter(|p| p.fen() > 0);
        if texts.iter().all(|(_, v)| v.trim().is_empty()) {
            return (false, tr(T::terms_none_chosen)().to_owned());
        }
        let terms = match BenefitTerms::from_pairs(&k, texts.iter().map(|(h, v)| (*h, v.as_str())))
        {
            Ok(t) => t,
            Err(_) => return (true, tr(T::terms_malformed)().to_owned()),
        };
        let Some(unit_price) = unit_price else {
            return (false, tr(T::terms_price_first)().to_owned());
        };
        let to_households: i64 = terms.per_unit(unit_price).iter().map(|p| p.1).sum();
        let line = format!(
            "{} {} / {} {}",
            tr(T::terms_total)(),
            Fen::new(to_households),
            tr(T::terms_of_price)(),
            unit_price
        );
        match terms.validate(unit_price) {
            Ok(()) => (false, line),
            Err(AllocationError::ExceedsSale) => {
                (true, format!("{line}：{}", tr(T::terms_exceeds)()))
            }
            Err(_) => (true, tr(T::terms_malformed)().to_owned()),
        }
    });
    view! {
        <fieldset class="terms-editor" data-testid="terms-editor">
            <legend>{tr(T::field_terms)}</legend>
            <p class="hint" id="terms-hint">{move || if kind.get() == "shares" { tr(T::terms_hint_shares)() } else { tr(T::terms_hint_per_unit)() }}</p>
            {many.then(|| view! {
                <label for="terms-filter">{tr(T::terms_filter)}</label>
                <input id="terms-filter" type="search" autocomplete="off"
                    on:input=move |ev| filter.set(event_target_value(&ev))/>
            })}
            <ul class="terms-rows">
                {rows.into_iter().map(|(h, v)| {
                    let label = h.label.clone();
                    let shown = move || {
                        let f = filter.get();
                        let f = f.trim();
                        f.is_empty() || label.contains(f) || h.household_id.to_string() == f
                    };
                    let id = format!("term-{}", h.household_id);
                    let row_ref = NodeRef::<leptos::html::Input>::new();
                    Effect::new(move |_| {
                        if let Some(el) = row_ref.get() {
                            v.set(el.value());
                        }
                    });
                    view! {
                        <li class="terms-row" class:is-filtered=move || !shown()>
                            <label for=id.clone()>{h.label.clone()}</label>
                            <span class="terms-input">
                                <input id=id name=format!("form[terms_by][{}]", h.household_id) inputmode="decimal"
                                    aria-describedby="terms-hint" value=v.get_untracked() node_ref=row_ref
                                    on:input=move |ev| v.set(event_target_value(&ev))/>
                                <span class="unit">{move || if kind.get() == "shares" { "%".to_owned() } else { tr(T::terms_unit_yuan)().to_owned() }}</span>
                            </span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <p class="terms-total" class:is-over=move || total.get().0 aria-live="polite" data-testid="terms-total">{move || total.get().1}</p>
        </fieldset>
    }
}

/// The origin: chosen from the places the seller may list from (the villages of its
/// households), with the listing's own kept when it is elsewhere; typed only when the desk
/// knows no place (a seller with no household yet), and checked on the server either way.
fn origin_field(
    origins: &[crate::delivery::api::RegionOption],
    current: &str,
    county: RwSignal<String>,
    select: NodeRef<leptos::html::Select>,
) -> AnyView {
    let current = current.to_owned();
    if origins.is_empty() {
        return view! {
            <input id="origin" name="form[origin_code]" required inputmode="numeric" value=current
                aria-describedby="origin-hint"/>
            <small id="origin-hint" class="hint">{tr(T::field_origin_hint)}</small>
        }
        .into_any();
    }
    let known = origins.iter().any(|o| o.code == current);
    view! {
        <select id="origin" name="form[origin_code]" required data-testid="origin-picker" node_ref=select>
            // A required list starts with an empty choice, so nothing is sent by mistake.
            <option value="" selected=current.is_empty()>{tr(T::picker_choose)}</option>
            {(!known && !current.is_empty()).then(|| view! { <option value=current.clone() selected=true>{current.clone()}</option> })}
            {origins.iter().map(|o| {
                let code = o.code.clone();
                let outside = Signal::derive(move || county.with(|c| !c.is_empty() && !code.starts_with(c.as_str())));
                view! {
                    <option value=o.code.clone() selected=o.code == current hidden=outside disabled=outside>{o.name.clone()}</option>
                }
            }).collect_view()}
        </select>
    }
    .into_any()
}

/// `/listing/:id/edit`: the seller edits a listing and manages its photos.
#[component]
pub fn ListingEditPage() -> impl IntoView {
    let id = crate::ui::use_id_param();
    let save = ServerAction::<api::SaveListing>::new();
    let remove = ServerAction::<api::DeletePhoto>::new();
    let data = Resource::new(
        move || (id(), remove.version().get()),
        |(id, _)| api::editable_listing(id),
    );
    let query = use_query_map();
    let photo_error = move || {
        query
            .with(|m| m.get("photo_error"))
            .and_then(|c| ErrorCode::parse(&c))
            .map(AppError::new)
    };
    let photos_added = move || query.with(|m| m.get("photos_added")).is_some();
    view! {
        <section class="section">
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(e) => {
                        let listing_id = e.form.id.unwrap_or_default();
                        let room = e.photos.len() < api::MAX_PHOTOS;
                        view! {
                            <PageMeta title=T::listing_edit description=T::meta_site private=true/>
                            <h1>{tr(T::listing_edit)} " · " {e.form.title.clone()}</h1>
                            <p class="page-actions"><A href=format!("/listing/{listing_id}")>{tr(T::listing_view)}</A></p>
                            <section class="card" id="photos" aria-labelledby="photos-title">
                                <h2 id="photos-title">{tr(T::photos_title)} " (" {e.photos.len()} "/" {api::MAX_PHOTOS} ")"</h2>
                                <ul class="photo-manager" data-testid="photo-manager">
                                    {e.photos.into_iter().enumerate().map(|(i, p)| view! {
                                        <li>
                                            <img src=p.thumb_url alt=move || format!("{} {}", tr(T::photo_label)(), i + 1) width="480" height="360"/>
                                            <ActionForm action=remove>
                                                <input type="hidden" name="photo_id" value=p.id/>
                                                <button type="submit" class="button" aria-label=move || format!("{} {} {}", tr(T::photo_delete)(), tr(T::photo_label)(), i + 1)>{tr(T::photo_delete)}</button>
                                            </ActionForm>
                                        </li>
                                    }).collect_view()}
                                </ul>
                                <div class="form-error">{move || remove.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}</div>
                                {room.then(|| view! {
                                    <form class="form" method="post" action=api::PHOTO_UPLOAD_PATH enctype="multipart/form-data" data-testid="photo-upload">
                                        <input type="hidden" name="listing_id" value=listing_id/>
                                        <label for="photo">{tr(T::photos_choose)}</label>
                                        <input id="photo" name="photo" type="file" accept="image/jpeg,image/png,image/webp" multiple required aria-describedby="photo-hint"/>
                                        <small id="photo-hint" class="hint">{tr(T::photos_hint)}</small>
                                        <button type="submit" class="button primary">{tr(T::photos_upload)}</button>
                                    </form>
                                })}
                                <p role="status" class="added">{move || photos_added().then(|| tr(T::photos_added)())}</p>
                                <div class="form-error" data-testid="photo-error">{move || photo_error().map(|e| view! { <ErrorNotice error=e/> })}</div>
                            </section>
                            <section class="card" aria-labelledby="details-title">
                                <h2 id="details-title">{tr(T::listing_details)}</h2>
                                <ListingFields save=save initial=e.form desk=e.desk/>
                            </section>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}
