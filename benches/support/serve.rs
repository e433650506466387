//! A `neardup serve` listening on a port the system chose: one copy for the
//! serve tests (`tests/cli_serve.rs`) and the load benchmark
//! (`benches/serve_load.rs`).

#![allow(dead_code)] // each user takes what it needs

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `neardup serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    /// `host:port` it listens on.
    pub addr: String,
}

impl Server {
    /// `http://host:port`, the base of its URLs.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd`, a `neardup serve ... --listen 127.0.0.1:0` command, and
/// reads the address from the first line it prints
/// (`listening on http://ADDR`).
pub fn start(mut cmd: Command) -> Server {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start neardup serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the address");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Server { child, addr }
}
