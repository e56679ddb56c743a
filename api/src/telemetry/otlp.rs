//! The OTLP/HTTP (protobuf) span exporter.
//!
//! The endpoint is `[tracing] endpoint` when set, else the standard variables
//! (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`, then
//! `http://localhost:4318`), read by the exporter itself, as are `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_EXPORTER_OTLP_TIMEOUT`, the batch settings `OTEL_BSP_*`, the sampler
//! `OTEL_TRACES_SAMPLER` and the resource `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`
//! (the service is `reach` unless one of them names it).
//!
//! The exporter's batches are sent from its own thread through Reach's reqwest client, run on
//! the process's runtime ([`RuntimeClient`]): one HTTP stack in the binary.

use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};

use crate::config::TracingSettings;

/// The service name spans carry unless `OTEL_SERVICE_NAME` says otherwise.
const SERVICE: &str = "reach";

/// A tracer provider exporting in batches to the configured collector. Must be called on the
/// runtime that will carry the exports.
pub(super) fn provider(settings: &TracingSettings) -> anyhow::Result<SdkTracerProvider> {
    let client = RuntimeClient {
        // The exporter does not time out a client of its own making (`OTEL_EXPORTER_OTLP_TIMEOUT`
        // bounds only its retries): a collector that never answers holds a batch this long.
        client: reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?,
        runtime: tokio::runtime::Handle::current(),
    };
    let mut exporter = SpanExporter::builder().with_http().with_http_client(client);
    if let Some(endpoint) = &settings.endpoint {
        exporter = exporter.with_endpoint(endpoint.clone());
    }
    let exporter = exporter.build().map_err(|e| {
        anyhow::anyhow!("cannot export traces: {e}; check `tracing.endpoint` or OTEL_EXPORTER_OTLP_ENDPOINT")
    })?;
    let mut resource = Resource::builder();
    let named = |var: &str, named: fn(&str) -> bool| std::env::var(var).is_ok_and(|v| named(&v));
    if !named("OTEL_SERVICE_NAME", |v| !v.is_empty())
        && !named("OTEL_RESOURCE_ATTRIBUTES", |v| {
            v.split(',').any(|kv| kv.trim_start().starts_with("service.name="))
        })
    {
        resource = resource.with_service_name(SERVICE);
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// Sends the exporter's requests with reqwest on the process's tokio runtime, so that the
/// exporter's own thread (which has no runtime) can wait for them.
#[derive(Debug)]
struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = client.execute(request).await?;
            let mut answer = Response::builder().status(response.status().as_u16());
            for (name, value) in response.headers() {
                answer = answer.header(name.as_str(), value.as_bytes());
            }
            Ok::<_, HttpError>(answer.body(response.bytes().await?)?)
        });
        sent.await?
    }
}
