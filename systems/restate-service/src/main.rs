//! faultline's Restate SDK service: the virtual objects the Restate
//! workloads call through the ingress. Deployed on every node, listening on
//! `FAULTLINE_SERVICE_ADDR` (default `0.0.0.0:9080`), registered once with
//! the cluster as `http://127.0.0.1:9080/` so every Restate node calls the
//! copy on its own node.
//!
//! Every handler is exclusive (`ObjectContext`): Restate runs one at a
//! time per key, so each object is a linearizable register, set or log.
//!
//! - `Register/{key}`: `get` -> value or null; `set(v)` -> v;
//!   `cas([old, new])` -> `{"ok": true}` or `{"ok": false, "value": current}`
//!   (a failed compare is an answer, not an error: nothing was written).
//! - `Set/{key}`: `add(e)` -> e; `read` -> every element added, in order.
//! - `Log/{key}`: `append(v)` -> the log after the append; `read` -> the log.

use restate_sdk::prelude::*;
use serde_json::{json, Value};

const VALUE: &str = "value";
const ITEMS: &str = "items";

struct Register;

#[object]
impl Register {
    #[handler]
    async fn get(&self, ctx: ObjectContext<'_>) -> Result<Json<Value>, HandlerError> {
        Ok(Json(ctx.get::<Json<Value>>(VALUE).await?.map(|j| j.0).unwrap_or(Value::Null)))
    }

    #[handler]
    async fn set(&self, ctx: ObjectContext<'_>, v: Json<Value>) -> Result<Json<Value>, HandlerError> {
        ctx.set(VALUE, Json(v.0.clone()));
        Ok(v)
    }

    #[handler]
    async fn cas(&self, ctx: ObjectContext<'_>, arg: Json<(Value, Value)>) -> Result<Json<Value>, HandlerError> {
        let (old, new) = arg.0;
        let current = ctx.get::<Json<Value>>(VALUE).await?.map(|j| j.0).unwrap_or(Value::Null);
        if current != old {
            return Ok(Json(json!({"ok": false, "value": current})));
        }
        ctx.set(VALUE, Json(new));
        Ok(Json(json!({"ok": true})))
    }
}

async fn items(ctx: &ObjectContext<'_>) -> Result<Vec<Value>, HandlerError> {
    Ok(ctx.get::<Json<Vec<Value>>>(ITEMS).await?.map(|j| j.0).unwrap_or_default())
}

struct Set;

#[object]
impl Set {
    #[handler]
    async fn add(&self, ctx: ObjectContext<'_>, e: Json<Value>) -> Result<Json<Value>, HandlerError> {
        let mut all = items(&ctx).await?;
        all.push(e.0.clone());
        ctx.set(ITEMS, Json(all));
        Ok(e)
    }

    #[handler]
    async fn read(&self, ctx: ObjectContext<'_>) -> Result<Json<Vec<Value>>, HandlerError> {
        Ok(Json(items(&ctx).await?))
    }
}

struct Log;

#[object]
impl Log {
    #[handler]
    async fn append(&self, ctx: ObjectContext<'_>, v: Json<Value>) -> Result<Json<Vec<Value>>, HandlerError> {
        let mut all = items(&ctx).await?;
        all.push(v.0);
        ctx.set(ITEMS, Json(all.clone()));
        Ok(Json(all))
    }

    #[handler]
    async fn read(&self, ctx: ObjectContext<'_>) -> Result<Json<Vec<Value>>, HandlerError> {
        Ok(Json(items(&ctx).await?))
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::var("FAULTLINE_SERVICE_ADDR").unwrap_or_else(|_| "0.0.0.0:9080".into());
    let addr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("faultline-restate-service: bad FAULTLINE_SERVICE_ADDR {addr:?}: {e}");
            std::process::exit(254);
        }
    };
    eprintln!("faultline-restate-service listening on {addr}");
    HttpServer::new(Endpoint::builder().bind(Register).bind(Set).bind(Log).build()).listen_and_serve(addr).await;
}
