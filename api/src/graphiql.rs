//! Temporary placeholder, replaced by the GraphiQL module.

/// What the GraphiQL page opens with.
#[derive(Clone, Debug, Default)]
pub struct GraphiqlOptions {
    /// Endpoint.
    pub endpoint: String,
    /// Default query.
    pub default_query: Option<String>,
    /// Default variables.
    pub default_variables: Option<String>,
}

/// Routes.
pub fn router<S: Clone + Send + Sync + 'static>(_options: GraphiqlOptions) -> axum::Router<S> {
    axum::Router::new()
}
