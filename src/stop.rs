//! Stopping a run when told: SIGINT (Ctrl-C) and SIGTERM.
//!
//! [`listen`] starts one thread that waits for the signals, whatever the run's own thread is doing (a request, a
//! sops decryption, a write to a full pipe). The first signal is *noted*: [`requested`] says so from then on and
//! [`signalled`] completes, so that every part of the run that talks to the API stops at once: the HTTP client sends
//! no new request and abandons the one it waits for (see [`crate::api::client`]), a sops decryption under way is
//! stopped (see [`crate::sops`]), and each file reports what it had
//! written, what was in flight ("in doubt": it may or may not have landed) and what was not sent. The run then ends
//! with exit code 1. A second signal ends the process at once, exit code 1.
//!
//! While nothing is in flight and the run waits on a person (apply's question), a first signal ends the process at
//! once too: [`exit_at_once`] marks that stretch, with what to say.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, Once};

use tokio::sync::Notify;

/// A signal that asks the run to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C in a terminal (on Windows, Ctrl-C).
    Interrupt,
    /// SIGTERM: what CI runners and `kill` send to cancel a job.
    Terminate,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            #[cfg(unix)]
            Signal::Interrupt => "SIGINT",
            #[cfg(not(unix))]
            Signal::Interrupt => "Ctrl-C",
            Signal::Terminate => "SIGTERM",
        }
    }

    fn code(self) -> u8 {
        match self {
            Signal::Interrupt => 1,
            Signal::Terminate => 2,
        }
    }

    fn from_code(code: u8) -> Option<Signal> {
        match code {
            1 => Some(Signal::Interrupt),
            2 => Some(Signal::Terminate),
            _ => None,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The first signal received (0: none yet).
static FIRST: AtomicU8 = AtomicU8::new(0);
/// Signals received so far.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);
/// Woken when the first signal is noted.
static NOTED: LazyLock<Notify> = LazyLock::new(Notify::new);
/// While not empty, a first signal ends the process at once; the last entry says what to print.
static AT_ONCE: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
static LISTEN: Once = Once::new();

/// Starts listening for SIGINT and SIGTERM (once per process; later calls do nothing). From then on they no longer
/// kill the process outright: see the module's documentation. Returns once the signals are being listened for.
pub fn listen() {
    LISTEN.call_once(|| {
        let (ready, listening) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("reconcile-signals".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                // Without a runtime, the signals keep their default action (they end the process).
                Err(_) => {
                    let _ = ready.send(());
                    return;
                }
            };
            runtime.block_on(wait_for_signals(ready));
        });
        if spawned.is_ok() {
            // The thread says when it listens (or that it cannot); a thread that died says so by dropping `ready`.
            let _ = listening.recv();
        }
    });
}

#[cfg(unix)]
async fn wait_for_signals(ready: std::sync::mpsc::Sender<()>) {
    use tokio::signal::unix::{SignalKind, signal};
    let streams = signal(SignalKind::interrupt()).and_then(|int| Ok((int, signal(SignalKind::terminate())?)));
    let _ = ready.send(());
    let Ok((mut int, mut term)) = streams else { return };
    loop {
        let received = tokio::select! {
            _ = int.recv() => Signal::Interrupt,
            _ = term.recv() => Signal::Terminate,
        };
        received_signal(received);
    }
}

#[cfg(not(unix))]
async fn wait_for_signals(ready: std::sync::mpsc::Sender<()>) {
    let _ = ready.send(());
    while tokio::signal::ctrl_c().await.is_ok() {
        received_signal(Signal::Interrupt);
    }
}

fn received_signal(signal: Signal) {
    if RECEIVED.fetch_add(1, Ordering::SeqCst) > 0 {
        eprintln!(
            "reconcile: {signal} again: exiting at once; a write that was in flight may or may not have landed: run \
             `reconcile plan` to see the account as it is"
        );
        std::process::exit(1);
    }
    let at_once = AT_ONCE.lock().unwrap_or_else(|e| e.into_inner()).last().copied();
    if let Some(note) = at_once {
        eprintln!("\nreconcile: interrupted ({signal}); {note}");
        std::process::exit(1);
    }
    FIRST.store(signal.code(), Ordering::SeqCst);
    NOTED.notify_waiters();
    eprintln!("reconcile: interrupted ({signal}): stopping; no new request is sent (a second {signal} exits at once)");
}

/// The first signal, once one was received.
pub fn requested() -> Option<Signal> {
    Signal::from_code(FIRST.load(Ordering::SeqCst))
}

/// Completes when the first signal is received (at once if it already was); never without [`listen`].
pub async fn signalled() -> Signal {
    loop {
        let noted = NOTED.notified();
        tokio::pin!(noted);
        // Registered before the check, so that a signal noted in between still wakes this waiter.
        noted.as_mut().enable();
        if let Some(signal) = requested() {
            return signal;
        }
        noted.await;
    }
}

/// While the returned guard lives, a first signal ends the process at once, printing `note` (what was, or was not,
/// done): for stretches where nothing is in flight and the run waits on something that cannot be abandoned
/// gracefully, such as a person's answer.
#[must_use = "the stretch ends when the guard is dropped"]
pub fn exit_at_once(note: &'static str) -> AtOnce {
    AT_ONCE.lock().unwrap_or_else(|e| e.into_inner()).push(note);
    AtOnce(())
}

/// See [`exit_at_once`].
pub struct AtOnce(());

impl Drop for AtOnce {
    fn drop(&mut self) {
        AT_ONCE.lock().unwrap_or_else(|e| e.into_inner()).pop();
    }
}
