//! The HTTP server: its own thread and tokio runtime, an accept loop, and one task per connection.
//!
//! Connections are served with hyper directly rather than `axum::serve`, because [`Fault::Drop`](crate::Fault::Drop)
//! must close a connection without answering: each connection task races the hyper connection against a
//! per-connection [`Notify`] that the request handler can fire. When it fires, the task drops the connection (and
//! with it the pending handler and the socket), so the client sees the connection close mid-request.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{Notify, oneshot};

use crate::{Shared, api};

/// A running server: dropping `stop` ends the accept loop, then the runtime and every connection are shut down.
pub(crate) struct Server {
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl Server {
    pub(crate) fn spawn(listener: std::net::TcpListener, shared: Arc<Shared>) -> io::Result<Server> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ultravox-emulator")
            .enable_all()
            .build()?;
        listener.set_nonblocking(true)?;
        let listener = {
            let _context = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("ultravox-emulator".to_string())
            .spawn(move || run(runtime, listener, shared, stopped))?;
        Ok(Server { stop, thread })
    }

    /// Stops accepting, closes every connection and waits for the server thread.
    pub(crate) fn stop(self) {
        drop(self.stop);
        // The thread only ends the runtime; a panic there has nothing left to clean up.
        let _ = self.thread.join();
    }
}

fn run(runtime: Runtime, listener: TcpListener, shared: Arc<Shared>, mut stopped: oneshot::Receiver<()>) {
    runtime.block_on(async move {
        loop {
            let stream = tokio::select! {
                _ = &mut stopped => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    // Out of file descriptors or the like: let it pass rather than spin.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            tokio::spawn(serve_connection(stream, Arc::clone(&shared)));
        }
    });
    // Cancels the connection tasks (a pending delay, a keep-alive connection) and closes their sockets.
    runtime.shutdown_timeout(Duration::from_secs(1));
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let drop_connection = Arc::new(Notify::new());
    let signal = Arc::clone(&drop_connection);
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let signal = Arc::clone(&signal);
        async move { Ok::<_, Infallible>(api::handle(shared, signal, request).await) }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        // Errors are the client's doing (reset, garbage); nothing to report.
        _ = connection => {}
        () = drop_connection.notified() => {}
    }
}
