pub mod check;
pub mod lab;
