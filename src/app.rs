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
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, Lazy, LazyRoute, SsrMode};

/// Every page but the three a first visit lands on (home, market, listing): `zhunong-sitebuild`
/// (tools/sitebuild) splits each one's code out of the first WebAssembly download
/// and it is fetched when first visited (on a first load, before that page hydrates). The
/// server renders each page in full as before, so nothing waits for the download to be read.
macro_rules! lazy_pages {
    ($($route:ident => $page:path;)*) => {$(
        #[derive(Clone, Copy)]
        struct $route;
        #[leptos_router::lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }
            fn view(_this: Self) -> AnyView {
                untrack($page).into_any()
            }
        }
    )*};
}

lazy_pages! {
    LoginRoute => LoginPage;
    RegisterRoute => RegisterPage;
    ResetRoute => ResetPage;
    AccountRoute => AccountPage;
    CountyRoute => crate::home::CountyPage;
    ShopRoute => crate::shops::ShopPage;
    ShopEditRoute => crate::shops::ShopEditPage;
    NoticesRoute => crate::notices::NoticesPage;
    BuyRoute => crate::orders::buy::BuyPage;
    OrdersRoute => OrdersPage;
    ImpactRoute => crate::orders::impact::ImpactSharePage;
    PayRoute => crate::payments::PayPage;
    LiveListRoute => crate::live::LiveListPage;
    LiveEventRoute => crate::live::LiveEventPage;
    AddressesRoute => crate::delivery::AddressesPage;
    HouseholdsRoute => HouseholdsPage;
    RegionRoute => crate::official::RegionPage;
    ReportRoute => crate::monitoring::ReportPage;
    QueueRoute => crate::monitoring::QueuePage;
    CadreRoute => crate::monitoring::CadrePage;
    AuditRoute => crate::monitoring::AuditPage;
    ImportRoute => crate::monitoring::ImportPage;
    OrganisationRoute => crate::monitoring::OrganisationPage;
    IncomeRoute => IncomePage;
    ListingEditRoute => ListingEditPage;
    SellerOrdersRoute => SellerOrdersPage;
    SellerRoute => SellerPage;
    LiveNewRoute => crate::live::LiveNewPage;
    LiveConsoleRoute => crate::live::LiveConsolePage;
    LiveReportRoute => crate::live::LiveReportPage;
}

/// The script that loads the WebAssembly and hydrates the page, started once the page has
/// loaded (its text and the pictures that are not lazy-loaded), or 3 s after it began, whichever
/// comes first: on a slow line the page's own content is not queued behind the WebAssembly, and
/// until it runs every control is a plain form or link. The WebAssembly is fetched beside the
/// import of the app's script, not after it, and the app's two scripts are preloaded at low
/// priority, so after `load` hydration waits on one round trip, not three.
/// In place of Leptos' `HydrationScripts`, which preloads the WebAssembly with the page (and,
/// on a lazy route, the route's split code): the split code is fetched when hydration needs it.
/// With the stylesheet; all of them addressed under the build's directory (`server::assets`).
fn hydration_scripts(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let (css, js, wasm, split) = {
        let a = crate::server::assets::Assets::get(&options);
        (a.css.clone(), a.js.clone(), a.wasm.clone(), a.split.clone())
    };
    #[cfg(not(feature = "ssr"))]
    let (css, js, wasm, split) = {
        let _ = options;
        (String::new(), String::new(), String::new(), None::<String>)
    };
    let script = format!(
        "(function (js, wasm) {{ let started = false; \
         const go = () => {{ if (started) return; started = true; \
         const code = fetch(wasm); code.catch(() => {{}}); \
         import(js).then((m) => m.default({{ module_or_path: code }}).then(() => m.hydrate())) \
           .catch((e) => console.error('zhunong: the page stays plain HTML:', e)); }}; \
         if (document.readyState === 'complete') go(); else addEventListener('load', go, {{ once: true }}); \
         setTimeout(go, 3000); }})({js:?}, {wasm:?});"
    );
    view! {
        <link rel="stylesheet" id="leptos" href=css/>
        <link rel="modulepreload" href=js fetchpriority="low"/>
        {split.map(|href| view! { <link rel="modulepreload" href=href fetchpriority="low"/> })}
        <script type="module" nonce=leptos::nonce::use_nonce()>{script}</script>
    }
}

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
                {hydration_scripts(options)}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[cfg(feature = "hydrate")]
thread_local! {
    static HYDRATED: ArcRwSignal<bool> = ArcRwSignal::new(false);
}

/// Whether the whole page has been hydrated (with a lazily loaded page, only once its code has
/// arrived). State that exists only in the browser, like the cart kept in `localStorage`, is
/// applied after this: changed earlier, it would no longer match the server's HTML that is
/// still being hydrated.
#[cfg(feature = "hydrate")]
pub fn hydration_done() -> ArcRwSignal<bool> {
    HYDRATED.with(Clone::clone)
}

/// Called once hydration has finished: sets [`hydration_done`] and `data-hydrated` on `<body>`
/// (which tests, and anyone curious, read as "the page is now interactive").
#[cfg(feature = "hydrate")]
pub fn mark_hydrated() {
    HYDRATED.with(|h| h.set(true));
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
                // On the server, `unavailable`: the request ended before its session was read
                // (see `AppState::get`); nobody is left to tell.
                Err(e)
                    if cfg!(feature = "ssr") && e.code == crate::error::ErrorCode::Unavailable =>
                {
                    None
                }
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
                    <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/register") view={Lazy::<RegisterRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/reset") view={Lazy::<ResetRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account/addresses") view={Lazy::<AddressesRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/households") view={Lazy::<HouseholdsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/region") view={Lazy::<RegionRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/report") view={Lazy::<ReportRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/monitoring") view={Lazy::<QueueRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/cadre") view={Lazy::<CadreRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/import") view={Lazy::<ImportRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/organisations/:id") view={Lazy::<OrganisationRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/households/:id") view={Lazy::<IncomeRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/market") view=MarketPage ssr=SsrMode::Async/>
                    <Route path=path!("/county/:code") view={Lazy::<CountyRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/listing/:id") view=ListingPage ssr=SsrMode::Async/>
                    <Route path=path!("/shop/:key") view={Lazy::<ShopRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/shop/:key/edit") view={Lazy::<ShopEditRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/notices") view={Lazy::<NoticesRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/listing/:id/edit") view={Lazy::<ListingEditRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/cart") view=CartPage ssr=SsrMode::Async/>
                    <Route path=path!("/buy") view={Lazy::<BuyRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/orders") view={Lazy::<OrdersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/orders/:id/pay") view={Lazy::<PayRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/impact/:token") view={Lazy::<ImpactRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/seller/orders") view={Lazy::<SellerOrdersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/seller/listings") view={Lazy::<SellerRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/live") view={Lazy::<LiveListRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/live/new") view={Lazy::<LiveNewRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/live/:id") view={Lazy::<LiveEventRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/live/:id/console") view={Lazy::<LiveConsoleRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/live/:id/report") view={Lazy::<LiveReportRoute>::new()} ssr=SsrMode::Async/>
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
    // On a phone the links fold into a menu, opened by a checkbox (so it works before the
    // script has loaded) and closed again once a link has been followed.
    let menu = NodeRef::<leptos::html::Input>::new();
    let location = leptos_router::hooks::use_location();
    Effect::watch(
        move || location.pathname.get(),
        move |_, _, _| {
            if let Some(toggle) = menu.get_untracked() {
                toggle.set_checked(false);
            }
        },
        false,
    );
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"农"</span>
                <span class="brand-name">{tr(T::app_name)}</span>
            </A>
            <A href="/cart" attr:class="header-cart">
                {tr(T::nav_cart)}
                <span class="cart-count" data-testid="cart-count">{move || { let n = cart.count(); (n > 0).then(|| format!(" ({n})")) }}</span>
            </A>
            <input type="checkbox" id="nav-toggle" class="nav-toggle" aria-controls="site-nav" node_ref=menu/>
            <label for="nav-toggle" class="nav-toggle-label" data-testid="nav-toggle">
                <span class="nav-toggle-bars" aria-hidden="true"></span>
                <span class="nav-toggle-text">{tr(T::nav_menu)}</span>
            </label>
            <nav class="site-nav" id="site-nav" aria-label=tr(T::nav_main)>
                <A href="/">{tr(T::nav_home)}</A>
                <A href="/market">{tr(T::nav_market)}</A>
                <A href="/live">{tr(T::nav_live)}</A>
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
        None => {
            // Back to this page after logging in or registering.
            let here = crate::ui::use_return_path();
            view! {
                <A href=move || crate::ui::auth_href("/login", &here.get())>{tr(T::nav_login)}</A>
                <A href=move || crate::ui::auth_href("/register", &here.get())>{tr(T::nav_register)}</A>
            }
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
                <A href="/notices" attr:data-testid="nav-notices">
                    {tr(T::nav_notices)}
                    {(u.unread_notices > 0).then(|| view! { <span class="notice-count">" (" {u.unread_notices} ")"</span> })}
                </A>
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
