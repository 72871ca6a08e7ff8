pub mod check;
pub mod lab;
pub mod analyze;
