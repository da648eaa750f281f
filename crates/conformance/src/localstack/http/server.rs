//! Baton started in process for the HTTP replay: the real router on
//! `127.0.0.1:0`, a fresh SQLite store in a temporary folder, the built-in
//! services (queues, topics, functions) with their Step Functions
//! integrations, and a small time scale so Wait states and timeouts take
//! little real time.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow};

/// The account every request acts in (the snapshots' account).
pub const ACCOUNT: &str = "111111111111";

/// Wait states, back-offs, timeouts and heartbeats run at this fraction of
/// their time. Large enough that a recorded 5-second timeout (50 ms here)
/// still leaves the activity worker time to start the task first.
pub const TIME_SCALE: f64 = 0.01;

/// A running server; stopped (and its folder removed) on drop.
pub struct Server {
    pub addr: SocketAddr,
    dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts Baton and returns once it listens.
    pub fn start(time_scale: f64) -> anyhow::Result<Server> {
        let dir = std::env::temp_dir().join(format!(
            "baton-conformance-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let db = dir.join("baton.db");
        let services_dir = dir.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("baton-conformance-server".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("tokio runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    let options = baton_storage::sqlite::SqliteOptions {
                        synchronous: baton_storage::sqlite::Synchronous::Off,
                        ..Default::default()
                    };
                    let store = match baton_storage::sqlite::SqliteStore::open_with(&db, options) {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("store: {e}")));
                            return;
                        }
                    };
                    let config = baton_engine::Config {
                        time_scale,
                        // Activity workers of the runner poll briefly.
                        activity_poll_seconds: 1,
                        ..Default::default()
                    };
                    let store: Arc<dyn baton_storage::Store> = Arc::new(store);
                    let services = match baton_services::Services::start(
                        store.clone(),
                        baton_services::Config {
                            lambda: baton_services::lambda::Config::new(services_dir),
                        },
                    ) {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("services: {e}")));
                            return;
                        }
                    };
                    let engine = match baton_engine::Engine::start_with(
                        store,
                        config,
                        services.integrations(),
                    )
                    .await
                    {
                        Ok(e) => e,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("engine: {e}")));
                            return;
                        }
                    };
                    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("listen: {e}")));
                            return;
                        }
                    };
                    let addr = match listener.local_addr() {
                        Ok(a) => a,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("listen: {e}")));
                            return;
                        }
                    };
                    services.set_endpoint(&format!("http://{addr}"));
                    let app = baton_server::router(
                        baton_server::AppState::new(engine.clone(), Some(ACCOUNT.to_string()))
                            .with_services(services.clone()),
                    );
                    let _ = ready_tx.send(Ok(addr));
                    let stopping = Arc::new(tokio::sync::Notify::new());
                    let stopping_signal = stopping.clone();
                    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
                        let _ = stop_rx.await;
                        stopping_signal.notify_one();
                    });
                    // Open long polls get a short grace, then end with the
                    // runtime.
                    let grace = async {
                        stopping.notified().await;
                        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    };
                    tokio::select! {
                        _ = server => {}
                        () = grace => {}
                    }
                    services.shutdown().await;
                    engine.shutdown().await;
                });
                rt.shutdown_timeout(std::time::Duration::from_secs(2));
            })
            .context("cannot start the server thread")?;
        let addr = ready_rx
            .recv()
            .map_err(|_| anyhow!("the server thread ended before listening"))?
            .map_err(|e| anyhow!("cannot start Baton: {e}"))?;
        Ok(Server {
            addr,
            dir,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Server {
    /// The server's temporary folder (removed with it).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
