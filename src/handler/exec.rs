//! `exec`: run a program for each event, the event JSON on its standard input.
//!
//! No shell is involved: `command` is the program and its arguments, as given. The program gets
//! the event JSON (one line) on standard input and `IFLOWD_MESSAGE_ID`, `IFLOWD_ENDPOINT`,
//! `IFLOWD_SENDER`, `IFLOWD_EVENT_TYPE`, `IFLOWD_EVENT_KIND`, `IFLOWD_EVENT_ID` and
//! `IFLOWD_EXTERNAL_EVENT_ID` in its environment. Exit status 0 is success; anything else fails
//! the message with the tail of the program's standard error. Standard output is read and
//! dropped.
//!
//! The program runs in a process group of its own. It is done when it has exited and closed its
//! output; after `timeout_ms` (or when the request is abandoned) the whole group is killed, so a
//! script's children die with it.

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::{Handler, HandlerError};
use crate::config::ExecConfig;
use crate::event::Event;
use crate::message::json::EventJson;
use crate::message::{Ack, Message};

/// How much of the end of standard error goes into the error.
const STDERR_TAIL_BYTES: usize = 2048;

pub struct ExecHandler {
    program: String,
    args: Vec<String>,
    timeout: Duration,
    env: Vec<(String, SecretString)>,
    inherit_env: bool,
    working_dir: Option<std::path::PathBuf>,
}

impl ExecHandler {
    /// Checks what can be checked before the first event: a program given as a path must exist.
    pub fn new(config: &ExecConfig) -> Result<Self, String> {
        let (program, args) = config.command.split_first().ok_or("command is empty")?;
        if program.contains('/') {
            let metadata = std::fs::metadata(program)
                .map_err(|e| format!("command[0] '{program}' cannot be used: {e}"))?;
            if !metadata.is_file() {
                return Err(format!("command[0] '{program}' is not a file"));
            }
        }
        if let Some(dir) = &config.working_dir
            && !dir.is_dir()
        {
            return Err(format!(
                "working_dir '{}' is not a directory",
                dir.display()
            ));
        }
        Ok(Self {
            program: program.clone(),
            args: args.to_vec(),
            timeout: Duration::from_millis(config.timeout_ms),
            env: config
                .env
                .iter()
                .map(|(k, v)| (k.clone(), SecretString::from(v.expose())))
                .collect(),
            inherit_env: config.inherit_env,
            working_dir: config.working_dir.clone(),
        })
    }

    /// The program with its arguments, environment (the event's facts as `IFLOWD_*`), piped
    /// standard streams, working directory and a process group of its own.
    fn command(&self, message: &Message, event: &Event) -> Command {
        let context = &message.context;
        let envelope = &message.envelope;
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        if !self.inherit_env {
            command.env_clear();
        }
        for (name, value) in &self.env {
            command.env(name, value.expose_secret());
        }
        let record = event.record();
        command
            .env("IFLOWD_MESSAGE_ID", context.id.as_str())
            .env("IFLOWD_ENDPOINT", &*context.endpoint)
            .env("IFLOWD_SENDER", &context.sender)
            .env("IFLOWD_EVENT_TYPE", envelope.type_of(event).unwrap_or(""))
            .env("IFLOWD_EVENT_KIND", event.kind().as_str())
            .env("IFLOWD_EVENT_ID", record.event_id.as_deref().unwrap_or(""))
            .env(
                "IFLOWD_EXTERNAL_EVENT_ID",
                envelope.meta.external_event_id.as_deref().unwrap_or(""),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &self.working_dir {
            command.current_dir(dir);
        }
        #[cfg(unix)]
        command.process_group(0);

        command
    }

    async fn run(&self, message: &Message, event: &Event) -> Result<(), HandlerError> {
        let context = &message.context;
        let envelope = &message.envelope;
        let mut input = serde_json::to_vec(&EventJson::new(Some(context), envelope, event))
            .map_err(|e| HandlerError::new(format!("cannot write the event JSON: {e}")))?;
        input.push(b'\n');

        let mut command = self.command(message, event);
        let mut child = command
            .spawn()
            .map_err(|e| HandlerError::new(format!("cannot start {}: {e}", self.program)))?;
        let mut group = GroupKiller::new(child.id());
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();

        let finished = tokio::time::timeout(self.timeout, async {
            let write = async {
                if let Some(mut stdin) = stdin {
                    // A program that does not read its input may close it early: not an error.
                    let _ = stdin.write_all(&input).await;
                }
            };
            let (_, (), tail, status) =
                tokio::join!(write, drain(stdout), tail(stderr), child.wait());
            (status, tail)
        })
        .await;

        match finished {
            Ok((Ok(status), tail)) => {
                group.disarm();
                if status.success() {
                    Ok(())
                } else {
                    Err(HandlerError::new(format!(
                        "{} {}{}",
                        self.program,
                        describe(status),
                        if tail.is_empty() {
                            String::new()
                        } else {
                            format!("; stderr: {tail:?}")
                        }
                    )))
                }
            }
            Ok((Err(e), _)) => Err(HandlerError::new(format!(
                "cannot wait for {}: {e}",
                self.program
            ))),
            Err(_) => {
                group.kill();
                let _ = child.wait().await;
                Err(HandlerError::new(format!(
                    "{} did not finish within {} ms; its process group was killed",
                    self.program,
                    self.timeout.as_millis()
                )))
            }
        }
    }
}

fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => format!("ended with {status}"),
    }
}

/// Reads a pipe to its end, dropping what it says.
async fn drain(pipe: Option<impl AsyncRead + Unpin>) {
    if let Some(mut pipe) = pipe {
        let mut buf = [0u8; 4096];
        while matches!(pipe.read(&mut buf).await, Ok(n) if n > 0) {}
    }
}

/// Reads a pipe to its end, keeping the last [`STDERR_TAIL_BYTES`] as trimmed text.
async fn tail(pipe: Option<impl AsyncRead + Unpin>) -> String {
    let Some(mut pipe) = pipe else {
        return String::new();
    };
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 2 * STDERR_TAIL_BYTES {
            kept.drain(..kept.len() - STDERR_TAIL_BYTES);
        }
    }
    let start = kept.len().saturating_sub(STDERR_TAIL_BYTES);
    String::from_utf8_lossy(&kept[start..]).trim().to_owned()
}

/// Kills the child's process group when dropped, unless the child finished: a request abandoned
/// by its sender must not leave a script running.
struct GroupKiller {
    pid: Option<u32>,
}

impl GroupKiller {
    fn new(pid: Option<u32>) -> Self {
        Self { pid }
    }

    fn disarm(&mut self) {
        self.pid = None;
    }

    fn kill(&mut self) {
        if let Some(pid) = self.pid.take() {
            #[cfg(unix)]
            if let Ok(pid) = i32::try_from(pid) {
                // The group may be gone already; nothing to do then.
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        self.kill();
    }
}

#[async_trait]
impl Handler for ExecHandler {
    async fn handle(&self, message: &Message, _ack: &mut Ack) -> Result<(), HandlerError> {
        for event in &message.envelope.events {
            self.run(message, event).await?;
        }
        Ok(())
    }
}
