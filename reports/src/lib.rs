//! faultline's reports: a self-contained HTML file per run (inline CSS, JS,
//! SVG plots made with plotters, and data; nothing fetched), and an index of
//! runs with trends. Every value from the SUT or the history is escaped.

pub mod counterexample;
pub mod html;
mod index;
mod membership;
pub mod plots;
mod report;
mod run_page;
pub mod template;

pub use index::{render_index, IndexRow};
pub use plots::Shade;
pub use report::{render_run, LogExcerpt, RunReport, PLOT_CAP, TIMELINE_CAP};
