//! Accounts: log-in, registration and the account page.

pub mod api;
#[cfg(feature = "ssr")]
pub mod server;

use crate::app::{role_label, use_session};
use crate::error::AppError;
use crate::i18n::{tr, use_lang, T};
use crate::ui::meta::PageMeta;
use leptos::prelude::*;
use leptos_router::components::A;

/// Goes home once the action (whose run count is `version`) succeeds after this page opened.
fn go_home_after(version: RwSignal<usize>, succeeded: Signal<bool>) {
    go_after(version, succeeded, "/".to_owned());
}

/// Goes to `to` once the action (whose run count is `version`) succeeds after this page opened.
fn go_after(version: RwSignal<usize>, succeeded: Signal<bool>, to: String) {
    let navigate = leptos_router::hooks::use_navigate();
    let v0 = version.get_untracked();
    Effect::new(move |_| {
        if version.get() > v0 && succeeded.get() {
            navigate(&to, Default::default());
        }
    });
}

/// The error of the last attempt, in the current language, announced to screen readers.
#[component]
fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    let lang = use_lang();
    view! {
        <p class="form-error" role="alert" aria-live="assertive" data-testid="form-error">
            {move || error.get().map(|e| e.code.text().t(lang.get()))}
        </p>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let action = session.login;
    // `?next=/buy?…`: where the buyer was (only a path on this site). After logging in with a
    // script the page goes there; without one the form's post comes back to this page, which
    // then sends the logged-in user on.
    let next = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("next"));
    let has_next = next.is_some();
    let to = crate::ui::local_next(next);
    go_after(
        action.version(),
        Signal::derive(move || matches!(action.value().get(), Some(Ok(_)))),
        to.clone(),
    );
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    view! {
        <OnwardWhenSignedIn has_next to=to.clone()/>
        <section class="card narrow">
            <PageMeta title=T::login_title description=T::meta_site/>
            <h1>{tr(T::login_title)}</h1>
            <ActionForm action=action attr:class="form" attr:novalidate=false>
                <label for="login">{tr(T::login_field)}</label>
                <input id="login" name="login" type="text" inputmode="email" autocomplete="username" required
                    aria-describedby="login-hint"/>
                <small id="login-hint" class="hint">{tr(T::login_field_hint)}</small>
                <label for="password">{tr(T::password_field)}</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <FormError error/>
                <button type="submit" class="button primary" disabled=move || action.pending().get()>
                    {tr(T::login_submit)}
                </button>
            </ActionForm>
            <p class="aside"><A href=crate::ui::auth_href("/register", &to)>{tr(T::login_no_account)}</A></p>
            <p class="aside"><A href="/reset">{tr(T::login_forgot)}</A></p>
        </section>
    }
}

/// Sends a signed-in user on to `to` when the page was given somewhere to go (`?next=`): where
/// a form posted without a script lands once it has logged the user in.
#[component]
fn OnwardWhenSignedIn(has_next: bool, to: String) -> impl IntoView {
    let session = use_session();
    view! {
        <Suspense fallback=|| ()>
            {move || (has_next && matches!(session.user.get(), Some(Some(_)))).then(|| {
                view! { <leptos_router::components::Redirect path=to.clone()/> }
            })}
        </Suspense>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let session = use_session();
    let start = session.register;
    let confirm = session.register_confirm;
    // Like log-in: back to where the user was (`?next=`) once the account is made.
    let next = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("next"));
    let has_next = next.is_some();
    let to = crate::ui::local_next(next);
    go_after(
        confirm.version(),
        Signal::derive(move || matches!(confirm.value().get(), Some(Ok(_)))),
        to.clone(),
    );
    // Step two once step one answered: the log-in the code was sent to.
    let sent_to = Signal::derive(move || start.value().get().and_then(Result::ok));
    let start_error = Signal::derive(move || start.value().get().and_then(Result::err));
    let confirm_error = Signal::derive(move || confirm.value().get().and_then(Result::err));
    let login_href = crate::ui::auth_href("/login", &to);
    let start_over = crate::ui::auth_href("/register", &to);
    view! {
        <OnwardWhenSignedIn has_next to=to.clone()/>
        <section class="card narrow">
            <PageMeta title=T::register_title description=T::meta_register/>
            <h1>{tr(T::register_title)}</h1>
            <Show
                when=move || sent_to.get().is_some()
                fallback=move || view! {
                    <ActionForm action=start attr:class="form">
                        <label for="display_name">{tr(T::display_name_field)}</label>
                        <input id="display_name" name="display_name" type="text" autocomplete="nickname" required maxlength="40"/>
                        <label for="login">{tr(T::login_field)}</label>
                        <input id="login" name="login" type="text" inputmode="email" autocomplete="username" required
                            aria-describedby="login-hint"/>
                        <small id="login-hint" class="hint">{tr(T::login_field_hint)}</small>
                        <label for="password">{tr(T::password_field)}</label>
                        <input id="password" name="password" type="password" autocomplete="new-password" required minlength="8"
                            aria-describedby="password-hint"/>
                        <small id="password-hint" class="hint">{tr(T::password_hint)}</small>
                        <FormError error=start_error/>
                        <button type="submit" class="button primary" disabled=move || start.pending().get()>
                            {tr(T::register_submit)}
                        </button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status" data-testid="code-sent">{tr(T::register_code_sent)}</p>
                <ActionForm action=confirm attr:class="form">
                    <input type="hidden" name="login" prop:value=move || sent_to.get().unwrap_or_default()/>
                    <label for="code">{tr(T::code_field)}</label>
                    <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                        pattern="[0-9]{6}" maxlength="6" required aria-describedby="code-hint"/>
                    <small id="code-hint" class="hint">{tr(T::code_field_hint)}</small>
                    <FormError error=confirm_error/>
                    <button type="submit" class="button primary" disabled=move || confirm.pending().get()>
                        {tr(T::register_confirm_submit)}
                    </button>
                </ActionForm>
                <p class="aside"><a href=start_over.clone()>{tr(T::register_start_over)}</a></p>
            </Show>
            <p class="aside"><A href=login_href>{tr(T::register_have_account)}</A></p>
        </section>
    }
}

/// Forgotten password: a code to the account's phone or e-mail, then a new password.
#[component]
pub fn ResetPage() -> impl IntoView {
    let request = ServerAction::<crate::auth::api::ResetRequest>::new();
    let reset = use_session().reset;
    go_home_after(
        reset.version(),
        Signal::derive(move || matches!(reset.value().get(), Some(Ok(_)))),
    );
    let requested = Signal::derive(move || matches!(request.value().get(), Some(Ok(()))));
    let request_error = Signal::derive(move || request.value().get().and_then(Result::err));
    let reset_error = Signal::derive(move || reset.value().get().and_then(Result::err));
    let login = RwSignal::new(String::new());
    view! {
        <section class="card narrow">
            <PageMeta title=T::reset_title description=T::meta_site/>
            <h1>{tr(T::reset_title)}</h1>
            <Show
                when=move || requested.get()
                fallback=move || view! {
                    <p>{tr(T::reset_intro)}</p>
                    <ActionForm action=request attr:class="form">
                        <label for="login">{tr(T::login_field)}</label>
                        <input id="login" name="login" type="text" inputmode="email" autocomplete="username" required
                            on:input=move |ev| login.set(event_target_value(&ev))/>
                        <FormError error=request_error/>
                        <button type="submit" class="button primary" disabled=move || request.pending().get()>
                            {tr(T::reset_send)}
                        </button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status" data-testid="code-sent">{tr(T::reset_code_sent)}</p>
                <ActionForm action=reset attr:class="form">
                    <input type="hidden" name="login" prop:value=move || login.get()/>
                    <label for="code">{tr(T::code_field)}</label>
                    <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                        pattern="[0-9]{6}" maxlength="6" required/>
                    <label for="password">{tr(T::reset_new_password)}</label>
                    <input id="password" name="password" type="password" autocomplete="new-password" required minlength="8"
                        aria-describedby="password-hint"/>
                    <small id="password-hint" class="hint">{tr(T::password_hint)}</small>
                    <FormError error=reset_error/>
                    <button type="submit" class="button primary" disabled=move || reset.pending().get()>
                        {tr(T::reset_submit)}
                    </button>
                </ActionForm>
            </Show>
        </section>
    }
}

/// Change the password; log out on every device.
#[component]
fn SecurityPanel() -> impl IntoView {
    let change = ServerAction::<crate::auth::api::ChangePassword>::new();
    let everywhere = use_session().logout_all;
    let changed = Signal::derive(move || matches!(change.value().get(), Some(Ok(()))));
    let change_error = Signal::derive(move || change.value().get().and_then(Result::err));
    let everywhere_error = Signal::derive(move || everywhere.value().get().and_then(Result::err));
    view! {
        <section class="security" aria-labelledby="password-title">
            <h2 id="password-title">{tr(T::password_change_title)}</h2>
            <ActionForm action=change attr:class="form">
                <label for="current_password">{tr(T::password_current)}</label>
                <input id="current_password" name="current_password" type="password" autocomplete="current-password" required/>
                <label for="new_password">{tr(T::reset_new_password)}</label>
                <input id="new_password" name="new_password" type="password" autocomplete="new-password" required minlength="8"
                    aria-describedby="new-password-hint"/>
                <small id="new-password-hint" class="hint">{tr(T::password_hint)}</small>
                <FormError error=change_error/>
                <Show when=move || changed.get()>
                    <p class="notice" role="status" data-testid="password-changed">{tr(T::password_changed)}</p>
                </Show>
                <button type="submit" class="button" disabled=move || change.pending().get()>
                    {tr(T::password_change_submit)}
                </button>
            </ActionForm>
            <h2 id="logout-all-title">{tr(T::logout_all_title)}</h2>
            <p class="muted">{tr(T::logout_all_hint)}</p>
            <ActionForm action=everywhere attr:class="form">
                <FormError error=everywhere_error/>
                <button type="submit" class="button" disabled=move || everywhere.pending().get()>
                    {tr(T::logout_all_submit)}
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let session = use_session();
    let lang = use_lang();
    view! {
        <section class="card narrow">
            <PageMeta title=T::account_title description=T::meta_site private=true/>
            <h1>{tr(T::account_title)}</h1>
            <Transition fallback=move || view! { <p>{tr(T::loading)}</p> }>
                {move || session.user.get().map(|u| match u {
                    None => view! {
                        <crate::ui::NeedLogin/>
                    }.into_any(),
                    Some(u) => {
                        let role = role_label(u.role);
                        view! {
                            <p class="greeting">{tr(T::welcome)} {u.display_name.clone()}</p>
                            <dl class="facts">
                                <dt>{tr(T::account_login)}</dt><dd>{u.login.clone()}</dd>
                                <dt>{tr(T::account_role)}</dt><dd data-testid="account-role">{move || role.t(lang.get())}</dd>
                                {u.region_name.clone().map(|r| view! { <dt>{tr(T::account_region)}</dt><dd>{r}</dd> })}
                                {u.organisation_name.clone().map(|o| view! { <dt>{tr(T::home_col_orgs)}</dt><dd>{o}</dd> })}
                            </dl>
                            <p><a href="/account/addresses" data-testid="manage-addresses">{tr(T::addresses_manage)}</a></p>
                            {(u.role == crate::domain::role::Role::InstitutionBuyer).then(|| view! { <PledgePanel/> })}
                            <SecurityPanel/>
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// An institution buyer's progress against the annual pledge: on the account page and on the
/// home page. Orders placed and not yet paid show as pending beside what was bought.
///
/// On the home page (`beside`), a refusal is shown as text and leaves the page's status alone.
#[component]
pub fn PledgePanel(#[prop(optional)] beside: bool) -> impl IntoView {
    let lang = use_lang();
    let progress = Resource::new(|| (), |_| crate::orders::api::pledge_progress(None));
    view! {
        <section class="pledge" aria-labelledby="pledge-title" data-testid="pledge">
            <h2 id="pledge-title">{tr(T::pledge_title)}</h2>
            <Transition fallback=|| ()>
                {move || progress.get().map(|r| match r {
                    Err(e) if beside => view! { <p class="muted">{move || e.text_in(lang.get())}</p> }.into_any(),
                    Err(e) => view! { <crate::ui::ErrorNotice error=e/> }.into_any(),
                    Ok(p) => {
                        let share = |v: i64| p.pledge_fen.filter(|t| *t > 0).map(|t| (v.saturating_mul(100) / t).clamp(0, 100));
                        let percent = share(p.purchased_fen);
                        let pending_pc = share(p.purchased_fen.saturating_add(p.pending_fen))
                            .zip(percent)
                            .map(|(all, paid)| all - paid);
                        view! {
                            <p class="muted">{p.institution.clone()} " · " {p.year}</p>
                            <p data-testid="pledge-progress">
                                {tr(T::pledge_progress)} " " <strong><crate::ui::Money fen=p.purchased_fen/></strong>
                                {p.pledge_fen.map(|v| view! { {tr(T::pledge_of)} " " <crate::ui::Money fen=v/> })}
                            </p>
                            {(p.pending_orders > 0).then(|| view! {
                                <p data-testid="pledge-pending">
                                    {tr(T::pledge_pending)} " " <strong><crate::ui::Money fen=p.pending_fen/></strong>
                                    " (" {p.pending_orders} " " {tr(T::pledge_pending_orders)} ")"
                                </p>
                            })}
                            {match percent {
                                Some(pc) => view! {
                                    <div class="meter" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=pc
                                        aria-labelledby="pledge-title">
                                        <span style=format!("width: {pc}%")></span>
                                        {pending_pc.filter(|w| *w > 0).map(|w| view! { <span class="pending" style=format!("width: {w}%")></span> })}
                                    </div>
                                    <p class="muted">{pc} "%"</p>
                                }.into_any(),
                                None => view! { <p class="muted">{tr(T::pledge_none)}</p> }.into_any(),
                            }}
                        }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

/// The pledge panel on the home page, for an institution buyer.
#[component]
pub fn HomePledge() -> impl IntoView {
    let session = use_session();
    view! {
        <Transition fallback=|| ()>
            {move || session.user.get().map(|u| {
                u.filter(|u| u.role == crate::domain::role::Role::InstitutionBuyer)
                    .map(|_| view! { <div class="section"><PledgePanel beside=true/></div> })
            })}
        </Transition>
    }
}
