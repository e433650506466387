//! One module per subcommand. Each exposes `Args` (clap derive) and
//! `run(Args) -> anyhow::Result<ExitCode>`; `compare` dispatches to
//! `compare_image` and `compare_text`.

pub mod compare;
pub mod compare_image;
pub mod compare_text;
pub mod hash;
