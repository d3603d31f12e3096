//! The HTML shell, the `<App/>` root, its router and layout.

use crate::auth::api::{
    CurrentUser, Login, Logout, LogoutAll, Register, RegisterConfirm, ResetPassword,
};
use crate::auth::{AccountPage, LoginPage, RegisterPage, ResetPage};
use crate::domain::role::Role;
use crate::home::HomePage;
use crate::i18n::{tr, LangSignal, T};
use crate::ledger::IncomePage;
use crate::market::{ListingEditPage, ListingPage, MarketPage, SellerPage};
use crate::official::HouseholdsPage;
use crate::orders::{CartPage, OrdersPage, SellerOrdersPage};
use crate::ui::NotFound;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

/// The document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = crate::i18n::current_lang();
    view! {
        <!DOCTYPE html>
        <html lang=lang.tag()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="theme-color" content="#2d6a3e"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Sets `data-hydrated` on `<body>` once the WebAssembly has taken over the page.
fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    if let Some(Err(e)) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
        .map(|b| b.set_attribute("data-hydrated", "1"))
    {
        leptos::logging::warn!("cannot mark the page hydrated: {e:?}");
    }
}

/// The session as the UI sees it: who is logged in, and the actions that change it.
#[derive(Clone, Copy)]
pub struct Session {
    pub user: Resource<Option<CurrentUser>>,
    pub login: ServerAction<Login>,
    pub register: ServerAction<Register>,
    pub register_confirm: ServerAction<RegisterConfirm>,
    pub reset: ServerAction<ResetPassword>,
    pub logout: ServerAction<Logout>,
    pub logout_all: ServerAction<LogoutAll>,
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let lang = RwSignal::new(crate::i18n::initial_lang());
    provide_context(LangSignal(lang));

    let login = ServerAction::<Login>::new();
    let register = ServerAction::<Register>::new();
    let register_confirm = ServerAction::<RegisterConfirm>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let logout = ServerAction::<Logout>::new();
    let logout_all = ServerAction::<LogoutAll>::new();
    let user = Resource::new(
        move || {
            (
                login.version().get(),
                register_confirm.version().get(),
                reset.version().get(),
                logout.version().get(),
                logout_all.version().get(),
            )
        },
        |_| async move {
            match crate::auth::api::session().await {
                Ok(user) => user,
                Err(e) => {
                    leptos::logging::error!("session: {e}");
                    None
                }
            }
        },
    );
    provide_context(Session {
        user,
        login,
        register,
        register_confirm,
        reset,
        logout,
        logout_all,
    });
    crate::orders::cart::provide_cart();

    // Tell tests (and anyone curious) that the page is now interactive.
    Effect::new(move |_| mark_hydrated());

    // Keep <html lang> and the language cookie in step with the switch.
    Effect::new(move |_| crate::i18n::remember_lang(lang.get()));

    view! {
        // A plain string: leptos_meta reads a reactive title after rendering, and on the 404
        // path (file_and_error_handler) that read can happen outside the render's arena and
        // panic ("no Arena is active"). Every page sets its own title, description and sharing
        // tags over this one (`ui::meta::PageMeta`, which follows the language switch).
        <Title text=T::app_name.t(lang.get_untracked())/>
        <Router>
            <a class="skip-link" href="#main">{tr(T::skip_to_content)}</a>
            <Header/>
            <main id="main" class="page" tabindex="-1">
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/register") view=RegisterPage ssr=SsrMode::Async/>
                    <Route path=path!("/reset") view=ResetPage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/account/addresses") view=crate::delivery::AddressesPage ssr=SsrMode::Async/>
                    <Route path=path!("/households") view=HouseholdsPage ssr=SsrMode::Async/>
                    <Route path=path!("/region") view=crate::official::RegionPage ssr=SsrMode::Async/>
                    <Route path=path!("/report") view=crate::monitoring::ReportPage ssr=SsrMode::Async/>
                    <Route path=path!("/monitoring") view=crate::monitoring::QueuePage ssr=SsrMode::Async/>
                    <Route path=path!("/cadre") view=crate::monitoring::CadrePage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=crate::monitoring::AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/import") view=crate::monitoring::ImportPage ssr=SsrMode::Async/>
                    <Route path=path!("/organisations/:id") view=crate::monitoring::OrganisationPage ssr=SsrMode::Async/>
                    <Route path=path!("/households/:id") view=IncomePage ssr=SsrMode::Async/>
                    <Route path=path!("/market") view=MarketPage ssr=SsrMode::Async/>
                    <Route path=path!("/county/:code") view=crate::home::CountyPage ssr=SsrMode::Async/>
                    <Route path=path!("/listing/:id") view=ListingPage ssr=SsrMode::Async/>
                    <Route path=path!("/listing/:id/edit") view=ListingEditPage ssr=SsrMode::Async/>
                    <Route path=path!("/cart") view=CartPage ssr=SsrMode::Async/>
                    <Route path=path!("/buy") view=crate::orders::buy::BuyPage ssr=SsrMode::Async/>
                    <Route path=path!("/orders") view=OrdersPage ssr=SsrMode::Async/>
                    <Route path=path!("/orders/:id/pay") view=crate::payments::PayPage ssr=SsrMode::Async/>
                    <Route path=path!("/seller/orders") view=SellerOrdersPage ssr=SsrMode::Async/>
                    <Route path=path!("/seller/listings") view=SellerPage ssr=SsrMode::Async/>
                    <Route path=path!("/live") view=crate::live::LiveListPage ssr=SsrMode::Async/>
                    <Route path=path!("/live/new") view=crate::live::LiveNewPage ssr=SsrMode::Async/>
                    <Route path=path!("/live/:id") view=crate::live::LiveEventPage ssr=SsrMode::Async/>
                    <Route path=path!("/live/:id/console") view=crate::live::LiveConsolePage ssr=SsrMode::Async/>
                    <Route path=path!("/live/:id/report") view=crate::live::LiveReportPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <footer class="site-footer">
                <p>{tr(T::app_name)} " · " {tr(T::app_tagline)} " · " <A href="/report">{tr(T::report_title)}</A></p>
            </footer>
        </Router>
    }
}

#[component]
fn Header() -> impl IntoView {
    let lang = crate::i18n::use_lang();
    let session = use_session();
    let cart = crate::orders::cart::use_cart();
    let switch = move |_| lang.update(|l| *l = l.other());
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"农"</span>
                <span class="brand-name">{tr(T::app_name)}</span>
            </A>
            <nav class="site-nav" aria-label=tr(T::nav_main)>
                <A href="/">{tr(T::nav_home)}</A>
                <A href="/market">{tr(T::nav_market)}</A>
                <A href="/live">{tr(T::nav_live)}</A>
                <A href="/cart">
                    {tr(T::nav_cart)}
                    <span class="cart-count" data-testid="cart-count">{move || { let n = cart.count(); (n > 0).then(|| format!(" ({n})")) }}</span>
                </A>
                <Transition fallback=|| ()>
                    {move || session.user.get().map(|u| view! { <RoleNav user=u/> })}
                </Transition>
            </nav>
            <button
                type="button"
                class="lang-switch"
                data-testid="lang-switch"
                title=tr(T::lang_switch_label)
                on:click=switch
            >
                // The button's name is what it shows ("English" / "中文"), spoken in that language.
                <span lang=move || lang.get().other().tag()>{tr(T::lang_switch)}</span>
            </button>
        </header>
    }
}

#[component]
fn RoleNav(user: Option<CurrentUser>) -> impl IntoView {
    let session = use_session();
    let navigate = leptos_router::hooks::use_navigate();
    let logout = session.logout;
    let v0 = logout.version().get_untracked();
    Effect::new(move |_| {
        if logout.version().get() > v0 {
            navigate("/", Default::default());
        }
    });
    match user {
        None => view! {
            <A href="/login">{tr(T::nav_login)}</A>
            <A href="/register">{tr(T::nav_register)}</A>
        }
        .into_any(),
        Some(u) => {
            let sees_records = matches!(u.role, Role::Official | Role::Admin);
            let sells = matches!(u.role, Role::OrgManager | Role::Household | Role::Cadre);
            let own_record = u
                .household_id
                .filter(|_| u.role == Role::Household)
                .map(|h| format!("/households/{h}"));
            view! {
                <A href="/orders">{tr(T::nav_orders)}</A>
                {sells.then(|| view! {
                    <A href="/seller/listings">{tr(T::nav_seller)}</A>
                    <A href="/seller/orders">{tr(T::nav_seller_orders)}</A>
                })}
                {own_record.map(|href| view! { <A href=href>{tr(T::income_title)}</A> })}
                {sees_records.then(|| view! {
                    <A href="/region">{tr(T::nav_region)}</A>
                    <A href="/households">{tr(T::nav_households)}</A>
                    <A href="/monitoring">{tr(T::nav_monitoring)}</A>
                })}
                {(u.role == Role::Official).then(|| view! { <A href="/import">{tr(T::nav_import)}</A> })}
                {(u.role == Role::Cadre).then(|| view! { <A href="/cadre">{tr(T::nav_cadre)}</A> })}
                <A href="/account">
                    <span class="nav-user" data-testid="nav-user">{u.display_name.clone()}</span>
                </A>
                <ActionForm action=logout attr:class="inline-form">
                    <button type="submit" class="link-button">{tr(T::nav_logout)}</button>
                </ActionForm>
            }
            .into_any()
        }
    }
}

/// The label of a role in the current language.
pub fn role_label(role: Role) -> T {
    match role {
        Role::Buyer => T::role_buyer,
        Role::InstitutionBuyer => T::role_institution_buyer,
        Role::Household => T::role_household,
        Role::Cadre => T::role_cadre,
        Role::OrgManager => T::role_org_manager,
        Role::Official => T::role_official,
        Role::Admin => T::role_admin,
    }
}
