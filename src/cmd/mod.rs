//! One module per subcommand. Each exposes `Args` (clap derive) and
//! `run(Args) -> anyhow::Result<ExitCode>`.

pub mod compare;
pub mod hash;
