//! One module per subcommand. Each exposes `Args` (clap derive) and
//! `run(Args) -> anyhow::Result<ExitCode>`; `compare` dispatches to
//! `compare_image` and `compare_text`.

pub mod common;
pub mod compact;
pub mod compare;
pub mod compare_image;
pub mod compare_text;
pub mod hash;
pub mod stats;
pub mod verify;
