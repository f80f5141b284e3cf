//! The instance lock (`setup.rs`): taken on a connection of its own when the instance opens the
//! log, held for as long as the store lives, and taken again when that connection breaks (the
//! server restarted, the connection was cut), so that the instance does not look gone to the
//! others for longer than the reconnection takes.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_postgres::Client;

use super::super::StoreError;
use super::connect::{self, Tls};
use super::setup::{self, LOCK_CLASS, lock_key};
use super::{db, open_failed, with_causes};

/// Keeps the lock while it lives; dropping it lets the lock go (the connection closes).
pub(super) struct Holder {
    _stop: oneshot::Sender<()>,
}

/// Connects, registers the instance, takes its lock, and keeps it: the instance's id.
pub(super) async fn hold(
    config: tokio_postgres::Config,
    tls: Tls,
    now: i64,
) -> Result<(i64, Holder), StoreError> {
    let (client, driver) = connect::connect(&config, &tls)
        .await
        .map_err(|e| open_failed(with_causes(&e)))?;
    let id = setup::register(&client, now).await?;
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(keep(config, tls, id, client, driver, stopped));
    Ok((id, Holder { _stop: stop }))
}

/// Holds the lock until `stopped`; whenever its connection ends, takes it again on a new one,
/// trying after 1 s, then at doubling pauses up to 30 s.
async fn keep(
    config: tokio_postgres::Config,
    tls: Tls,
    id: i64,
    mut client: Client,
    mut driver: JoinHandle<()>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = &mut driver => {}
        }
        drop(client);
        tracing::error!(
            instance = id,
            "the instance lock was lost with its connection; taking it again"
        );
        let mut pause = Duration::from_secs(1);
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                () = tokio::time::sleep(pause) => {}
            }
            match relock(&config, &tls, id).await {
                Ok((again, again_driver)) => {
                    (client, driver) = (again, again_driver);
                    tracing::warn!(instance = id, "the instance lock is held again");
                    break;
                }
                Err(error) => {
                    tracing::error!(instance = id, %error, "the instance lock cannot be taken again yet");
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}

/// The lock of instance `id` on a new connection, and its row again (another instance that
/// found the lock free meanwhile forgot the instance).
async fn relock(
    config: &tokio_postgres::Config,
    tls: &Tls,
    id: i64,
) -> Result<(Client, JoinHandle<()>), StoreError> {
    let (client, driver) = connect::connect(config, tls)
        .await
        .map_err(|e| StoreError::Database(with_causes(&e)))?;
    client
        .execute(
            "SELECT pg_advisory_lock($1, $2)",
            &[&LOCK_CLASS, &lock_key(id)],
        )
        .await
        .map_err(db)?;
    client
        .execute(
            "INSERT INTO instances (id, name, started_at) OVERRIDING SYSTEM VALUE
             VALUES ($1, 'taken again', 0) ON CONFLICT (id) DO NOTHING",
            &[&id],
        )
        .await
        .map_err(db)?;
    Ok((client, driver))
}
