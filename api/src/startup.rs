//! Building and running the server: database, migrations, secret, schema, router, listener.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use integrations::{PluginHost, Wake, email::EmailPlugin};
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::{self, Tokens},
    config::Settings,
    db, demo, graphiql,
    graphql::{self, limits::DocumentLimits},
    http::{self, ServerState, metrics},
    live::{self, Live},
    net,
    service::{
        audit,
        sync::{plugin::PlatformPlugin, seal::TokenKey},
        webhooks::plugin::WebhooksPlugin,
    },
    state::{App, AppState},
    ws,
};

/// A server bound to its address, ready to run.
pub struct Application {
    listener: TcpListener,
    /// `[metrics] listen`: `/metrics` alone, without a token.
    metrics_listener: Option<TcpListener>,
    router: Router,
    state: AppState,
    demo: Option<demo::DemoReport>,
    plugins: PluginHost,
    /// The rate limiter's state, whose idle callers `run_until` forgets every minute.
    limiter: Arc<http::Limiter>,
}

impl Application {
    /// Connects, migrates, loads the signing secret, fills the demo directory when asked, and
    /// binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings, with_demo: bool) -> anyhow::Result<Self> {
        let statements = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let db = db::connect_counted(&settings, statements.clone()).await?;
        db::migrate(&db).await?;
        db::warn_if_searches_scan(&db).await?;
        let filled = crate::service::remote::backfill_users(&db, &settings.remote_extension).await?;
        if filled > 0 {
            tracing::info!(users = filled, "gave MX-ONE users their Remote Extension records");
        }
        let secret = auth::signing_secret(&db, &settings).await?;
        let tokens = Tokens::from_settings(&secret, &settings);
        let token_key = TokenKey::load(&db, &settings).await?;
        let settings = Arc::new(settings);
        let metrics = crate::metrics::Metrics::default();
        let state = AppState::new(App {
            db,
            settings: settings.clone(),
            tokens,
            principals: auth::cache::PrincipalCache::new(Duration::from_millis(settings.principal_cache_ms)),
            statements,
            wake: Wake::default(),
            live: Live::counted(settings.subscriptions.clone(), metrics.subscriptions()),
            token_key,
            metrics,
            clock: Default::default(),
        });
        let plugins = plugins(&state)?;
        let demo = if with_demo {
            Some(demo::seed(&state).await?)
        } else {
            None
        };
        let schema = executable_schema(&state);
        let limiter = http::limiter(settings.limits.rate_limit_per_second, settings.limits.rate_limit_burst);
        let server = ServerState {
            app: state.clone(),
            plain: plain_schema(&state),
            validated: validated_schema(&state),
            limits: document_limits(&state.settings),
            documents: Default::default(),
            schema,
            limiter: limiter.clone(),
        };
        let graphiql = graphiql::GraphiqlOptions {
            endpoint: "/graphql".into(),
            default_query: demo.as_ref().map(|d| d.graphiql_query.clone()),
            default_variables: demo.as_ref().map(|d| d.graphiql_variables.clone()),
            // Only where the demo directory is there: on a real database `--demo` adds nothing,
            // and its Support token must not be handed to whoever opens the page.
            personas: demo
                .iter()
                .filter(|d| d.personas.len() > 1)
                .flat_map(|d| d.personas.iter().map(|p| (p.who.clone(), p.token.clone())))
                .collect(),
        };
        let router = router(server, &settings, graphiql);
        let addr = settings.listen_addr()?;
        let listener = net::bind(addr).await?;
        let metrics_listener = match (&settings.metrics.listen, settings.metrics.enabled) {
            (Some(address), true) => Some(metrics_listener(address).await?),
            _ => None,
        };
        Ok(Self {
            listener,
            metrics_listener,
            router,
            state,
            demo,
            plugins,
            limiter,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address `/metrics` is served on without a token (`[metrics] listen`), if any.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The routes, to serve in-process without the listener (the fuzz target does).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Shared state (database, settings, tokens).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// What `--demo` created, with a token per persona.
    pub fn demo(&self) -> Option<&demo::DemoReport> {
        self.demo.as_ref()
    }

    /// `name: summary` of each plugin this process runs.
    pub fn plugin_summaries(&self) -> Vec<String> {
        self.plugins.summaries()
    }

    /// Starts the plugins and the reader of the log for subscriptions, and serves until
    /// `shutdown` completes; then closes the websockets, finishes in-flight requests and stops
    /// the plugins (a delivery cut off here is taken up again later).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let state = &self.state;
        let stop = CancellationToken::new();
        let catch_up = Duration::from_millis(state.settings.subscriptions.catch_up_ms);
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(forget_idle_callers(self.limiter.clone(), stop.clone())));
        if state.settings.subscriptions.enabled {
            let from = live::tail::start(&state.live, &state.db)
                .await
                .map_err(std::io::Error::other)?;
            tasks.push(tokio::spawn(live::tail::run(
                state.live.clone(),
                state.db.clone(),
                state.wake.clone(),
                state.principals.clone(),
                from,
                catch_up,
                stop.clone(),
            )));
            if state.settings.is_postgres() {
                // Listening before the first connection is accepted; a failure here is retried
                // in the background (the catch-up poll covers the gap).
                let first = live::listen::connect(&state.db).await.ok();
                tasks.push(tokio::spawn(live::listen::run(
                    state.db.clone(),
                    state.wake.clone(),
                    state.principals.clone(),
                    first,
                    stop.clone(),
                )));
            }
        }
        if let Some(listener) = self.metrics_listener {
            let scrape = Router::new()
                .route("/metrics", get(metrics::open))
                .with_state(state.clone());
            let stopped = stop.clone();
            // The main listener's timeouts, and few connections: scrapers are few, and a flood
            // of sockets here must not take the file descriptors the API needs.
            let limits = net::ServerSettings {
                max_connections: METRICS_CONNECTIONS,
                ..state.settings.server.clone()
            };
            tasks.push(tokio::spawn(async move {
                let serving = net::accept::serve(listener, scrape, &limits, stopped.cancelled_owned());
                if let Err(e) = serving.await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            }));
        }
        if state.settings.remote_extension.scheduler {
            tasks.push(tokio::spawn(switch_statuses(state.clone(), stop.clone())));
        }
        tasks.push(tokio::spawn(prune_log(
            state.db.clone(),
            state.settings.audit.clone(),
            state.settings.plugins.webhooks.keep_deliveries_days,
            self.plugins.names(),
            stop.clone(),
        )));
        let plugins = self.plugins.start();
        let live = state.live.clone();
        let server = state.settings.server.clone();
        let served = net::accept::serve(self.listener, self.router, &server, async move {
            shutdown.await;
            live.stop();
        })
        .await;
        stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), futures::future::join_all(tasks)).await;
        plugins.shutdown(Duration::from_secs(5)).await;
        served
    }

    /// Serves until SIGTERM or Ctrl-C.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

/// The plugins switched on in `[plugins]`; one that is on but misconfigured stops the start with
/// the setting's name.
fn plugins(state: &AppState) -> Result<PluginHost, crate::config::SettingsError> {
    let settings = &state.settings;
    let mut host = PluginHost::new(state.db.clone(), settings.plugins.clone(), state.wake.clone());
    if settings.plugins.email.enabled {
        let url = settings.smtp_url.as_ref().map(|u| u.expose_secret().to_owned());
        let email = EmailPlugin::build(&settings.plugins.email, url.as_deref())
            .map_err(|(key, reason)| crate::config::SettingsError::new(&key, reason))?
            .observed(state.metrics.email_observer());
        host.register(Arc::new(email));
    }
    if settings.plugins.platform.enabled {
        host.register(Arc::new(
            PlatformPlugin::new(
                state.db.clone(),
                settings.plugins.platform.clone(),
                state.token_key.clone(),
                settings.remote_extension.clone(),
            )
            .observed(state.metrics.sync_observer()),
        ));
    }
    if settings.plugins.webhooks.enabled {
        host.register(Arc::new(WebhooksPlugin::new(
            state.db.clone(),
            settings.plugins.webhooks.clone(),
            state.token_key.clone(),
        )));
    }
    Ok(host)
}

/// The document limits of the settings.
pub fn document_limits(settings: &Settings) -> DocumentLimits {
    let limits = &settings.limits;
    DocumentLimits {
        max_query_length: limits.max_query_length,
        max_aliases: limits.max_aliases,
        max_directives_per_field: limits.max_directives_per_field,
        max_depth: limits.max_depth,
    }
}

/// The schema with data, limits and extensions, as the server runs everything on the websocket.
pub fn executable_schema(state: &AppState) -> graphql::ReachSchema {
    let limits = &state.settings.limits;
    let mut builder = graphql::builder()
        .data(state.clone())
        .limit_complexity(limits.max_complexity)
        .extension(document_limits(&state.settings))
        .extension(graphql::live::FreshPerEvent);
    if !state.settings.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The schema HTTP queries and mutations run on: the same types and data with no extension.
/// async-graphql resolves every field through the extension chain as soon as one extension is
/// registered; HTTP needs none of them (the mutation root empties the loader between mutation
/// fields itself, and there is no websocket session), so every field takes its direct path. The
/// HTTP layer checks the document limits itself before executing ([`crate::http`]).
pub fn plain_schema(state: &AppState) -> graphql::ReachSchema {
    http_schema(state, async_graphql::ValidationMode::Strict)
}

/// [`plain_schema`] that skips the validation rules (async-graphql's `ValidationMode::Fast`,
/// which still counts complexity and depth), for documents that passed them already
/// ([`crate::graphql::documents::Documents::validation`]).
pub fn validated_schema(state: &AppState) -> graphql::ReachSchema {
    http_schema(state, async_graphql::ValidationMode::Fast)
}

/// The schema HTTP runs on, validating as `mode` says.
fn http_schema(state: &AppState, mode: async_graphql::ValidationMode) -> graphql::ReachSchema {
    let mut builder = graphql::builder()
        .data(state.clone())
        .limit_complexity(state.settings.limits.max_complexity)
        .validation_mode(mode);
    if !state.settings.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

fn router(server: ServerState, settings: &Settings, graphiql: graphiql::GraphiqlOptions) -> Router {
    let probes = Router::new()
        .route("/healthz", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/readyz", get(readyz))
        .with_state(server.app.clone());
    let mut api = Router::new()
        // `POST /graphql` reads its body itself, with a limit that depends on the caller.
        .route("/graphql", get(ws::graphql_get).post(http::graphql_post));
    if settings.metrics.enabled {
        api = api.route("/metrics", get(metrics::for_support));
    }
    Router::new()
        .merge(api.with_state(server))
        .merge(probes)
        .merge(crate::console::router(&graphiql))
        .merge(graphiql::router(graphiql))
        .layer(net::request::GuardLayer::new(settings.server.body_read_timeout()))
}

/// Connections open at once on `[metrics] listen`; the next wait in the kernel's backlog.
const METRICS_CONNECTIONS: usize = 16;

/// Binds `[metrics] listen`.
async fn metrics_listener(address: &str) -> anyhow::Result<TcpListener> {
    let addr: SocketAddr = address
        .parse()
        .map_err(|_| crate::config::SettingsError::new("metrics.listen", "is not an IP address and port"))?;
    TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr} for metrics: {e}; set `metrics.listen` (REACH_METRICS__LISTEN) to another address"
        )
    })
}

async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    let ready = match db::ping(&app.db).await {
        Ok(()) => db::migrations_applied(&app.db).await.unwrap_or(false),
        Err(_) => false,
    };
    if ready {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable" })),
        )
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// The status scheduler (issue 21 §2): at least once a second, and at once when a test moves the
/// clock, every user whose schedule boundary is due gets the status it names. Every process runs
/// it; each boundary still applies once (`service::remote::schedule`).
async fn switch_statuses(state: AppState, stop: CancellationToken) {
    loop {
        match crate::service::remote::schedule::run_due(&state.db, state.clock.now()).await {
            Ok(0) => {}
            Ok(_) => state.wake.notify(),
            Err(e) => tracing::warn!(error = %e, "the status scheduler failed; trying again in a second"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = state.clock.moved() => {}
            () = tokio::time::sleep(SCHEDULER_POLL) => {}
        }
    }
}

/// How often the status scheduler looks for due boundaries.
const SCHEDULER_POLL: Duration = Duration::from_secs(1);

/// Every `[audit] prune_interval_minutes` until `stop` (the first time a minute after the start,
/// once the plugins have taken their places in the log), deletes the events older than
/// `[audit] retention_days` that every plugin has consumed ([`audit::prune`]), and the webhook
/// deliveries done more than `keep_deliveries_days` ago.
async fn prune_log(
    db: sea_orm::DatabaseConnection,
    settings: crate::config::AuditSettings,
    keep_deliveries_days: u32,
    plugins: Vec<&'static str>,
    stop: CancellationToken,
) {
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = Duration::from_secs(settings.prune_interval_minutes * 60);
        let kept = chrono::Utc::now() - chrono::Duration::days(i64::from(keep_deliveries_days));
        match crate::service::webhooks::prune_deliveries(&db, kept).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned webhook deliveries"),
            Err(e) => tracing::warn!(error = %e, "pruning webhook deliveries failed; trying again later"),
        }
        if settings.retention_days == 0 {
            continue;
        }
        let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(settings.retention_days));
        match audit::prune(&db, cutoff, &plugins, PRUNE_BATCH).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, %cutoff, "pruned the event log"),
            Err(e) => tracing::warn!(error = %e, "pruning the event log failed; trying again later"),
        }
    }
}

/// Events deleted per statement when pruning.
const PRUNE_BATCH: u64 = 1_000;

/// Every minute until `stop`, drops the rate limiter's record of callers who have not sent a
/// request for a while (each would otherwise keep a little memory for good).
async fn forget_idle_callers(limiter: Arc<http::Limiter>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(60)) => limiter.retain_recent(),
        }
    }
}
