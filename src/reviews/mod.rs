//! Reviews (评价): shown on the listing page (average, count, a page at a time, the seller's
//! reply), written from the buyer's delivered orders.

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;

use crate::domain::calendar::date_of;
use crate::i18n::{tr, T};
use crate::ui::{ErrorNotice, Pager};
use api::{HideReview, ReplyReview, ReviewView, WriteReview, MAX_REVIEW_CHARS};
use leptos::form::ActionForm;
use leptos::prelude::*;

/// "★★★★☆": the rating drawn, with the number for screen readers beside it.
fn stars(rating: i64) -> String {
    let r = rating.clamp(0, 5) as usize;
    format!("{}{}", "★".repeat(r), "☆".repeat(5 - r))
}

/// A listing's reviews, under its page.
#[component]
pub fn ListingReviewsSection(listing_id: i64) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let after = move || query.with(|m| m.get("reviews_after"));
    // Moves when a reply or a hide is saved (each review has its own actions).
    let changed = RwSignal::new(0usize);
    let data = Resource::new(
        move || (after(), changed.get()),
        move |(a, _)| api::listing_reviews(listing_id, a),
    );
    view! {
        <section class="reviews" aria-labelledby="reviews-title" data-testid="reviews">
            <h2 id="reviews-title">{tr(T::reviews_title)}</h2>
            <Transition fallback=|| ()>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    Ok(d) if d.page.items.is_empty() && d.summary.count == 0 => {
                        view! { <p class="muted" data-testid="reviews-summary">{tr(T::reviews_none)}</p> }.into_any()
                    }
                    Ok(d) => view! {
                        <p class="reviews-summary" data-testid="reviews-summary">
                            <span aria-hidden="true" class="stars">{stars((d.summary.average_tenths + 5) / 10)}</span> " "
                            {tr(T::reviews_average)} " " <strong>{d.summary.average()}</strong> " · " {d.summary.count} " " {tr(T::reviews_count)}
                        </p>
                        <ul class="review-list">
                            {d.page.items.iter().cloned().map(|v| view! {
                                <ReviewItem review=v can_reply=d.can_reply can_hide=d.can_hide changed=changed/>
                            }).collect_view()}
                        </ul>
                        <Pager key="reviews_after" next=d.page.next.clone() label=T::reviews_pages first_text=T::pages_first next_text=T::pages_next/>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ReviewItem(
    review: ReviewView,
    can_reply: bool,
    can_hide: bool,
    changed: RwSignal<usize>,
) -> impl IntoView {
    let id = review.id;
    let reply = ServerAction::<ReplyReview>::new();
    let hide = ServerAction::<HideReview>::new();
    Effect::new(move |_| {
        if reply.version().get() + hide.version().get() > 0 {
            changed.update(|n| *n += 1);
        }
    });
    let reply_error = move || reply.value().get().and_then(Result::err);
    view! {
        <li class="review" class:is-hidden=review.hidden data-testid="review">
            <p class="review-head">
                <span class="stars" role="img" aria-label=format!("{} / 5", review.rating)>{stars(review.rating)}</span> " "
                <span>{review.reviewer.clone()}</span> " "
                <time class="muted">{date_of(review.created_at)}</time>
                {review.hidden.then(|| view! { " " <span class="muted">{tr(T::reviews_hidden)}</span> })}
            </p>
            {(!review.body.is_empty()).then(|| view! { <p class="review-body">{review.body.clone()}</p> })}
            {review.reply.clone().map(|r| view! {
                <p class="review-reply" data-testid="review-reply"><strong>{tr(T::reviews_reply_label)} ": "</strong>{r}</p>
            })}
            {(can_reply && review.reply.is_none()).then(|| view! {
                <ActionForm action=reply attr:class="form review-reply-form">
                    <input type="hidden" name="review_id" value=id/>
                    <label for=format!("reply-{id}")>{tr(T::reviews_reply_label)}</label>
                    <textarea id=format!("reply-{id}") name="reply" required rows="2" maxlength=MAX_REVIEW_CHARS></textarea>
                    <div>{move || reply_error().map(|e| view! { <ErrorNotice error=e/> })}</div>
                    <button type="submit" class="button">{tr(T::reviews_reply_button)}</button>
                </ActionForm>
            })}
            {can_hide.then(|| view! {
                <ActionForm action=hide attr:class="inline-form">
                    <input type="hidden" name="review_id" value=id/>
                    <input type="hidden" name="hidden" value=if review.hidden { "0" } else { "1" }/>
                    <button type="submit" class="button">{if review.hidden { tr(T::reviews_show) } else { tr(T::reviews_hide) }}</button>
                </ActionForm>
            })}
        </li>
    }
}

/// The buyer's review of one delivered item: the form until written, then its rating.
#[component]
pub fn ReviewItemForm(item_id: i64, rating: Option<i64>) -> impl IntoView {
    let write = ServerAction::<WriteReview>::new();
    let done = move || {
        write
            .value()
            .get()
            .and_then(Result::ok)
            .map(|v| v.rating)
            .or(rating)
    };
    let error = move || write.value().get().and_then(Result::err);
    let choices = [
        ("5", T::review_stars_5),
        ("4", T::review_stars_4),
        ("3", T::review_stars_3),
        ("2", T::review_stars_2),
        ("1", T::review_stars_1),
    ];
    view! {
        {move || match done() {
            Some(r) => view! {
                <p class="muted" data-testid="review-done">{tr(T::review_yours)} ": "
                    <span class="stars" role="img" aria-label=format!("{r} / 5")>{stars(r)}</span></p>
            }.into_any(),
            None => view! {
                <details class="review-form" data-testid="review-form">
                    <summary>{tr(T::review_write)}</summary>
                    <ActionForm action=write attr:class="form">
                        <input type="hidden" name="order_item_id" value=item_id/>
                        <label for=format!("rating-{item_id}")>{tr(T::review_rating)}</label>
                        <select id=format!("rating-{item_id}") name="rating">
                            {choices.into_iter().map(|(v, t)| view! { <option value=v>{tr(t)}</option> }).collect_view()}
                        </select>
                        <label for=format!("review-{item_id}")>{tr(T::review_body)}</label>
                        <textarea id=format!("review-{item_id}") name="body" rows="3" maxlength=MAX_REVIEW_CHARS></textarea>
                        <div>{move || error().map(|e| view! { <ErrorNotice error=e/> })}</div>
                        <button type="submit" class="button primary">{tr(T::review_submit)}</button>
                    </ActionForm>
                </details>
            }.into_any(),
        }}
    }
}
