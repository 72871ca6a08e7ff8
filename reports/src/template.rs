//! HTML from templates: MiniJinja (Jinja2's syntax), strict about unknown
//! variables and escaping every value it prints (a template's name ends in
//! `.html`), so no part builds markup by formatting strings.
//!
//! A part keeps its templates beside its code (`templates/NAME.html`,
//! compiled in with `include_str!`) and renders one with [`render`] from a
//! context it derives `Serialize` for. Markup made elsewhere (an SVG plot,
//! another template's output) goes in with the `safe` filter.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// A template that failed to render: the template's name and what MiniJinja said.
#[derive(Debug)]
pub struct TemplateError {
    /// The template's name (`set-findings.html`).
    pub name: String,
    /// What went wrong.
    pub error: minijinja::Error,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "template {}: {:#}", self.name, self.error)
    }
}

impl std::error::Error for TemplateError {}

/// Renders the template `source`, named `name` (ending in `.html`: every
/// value is escaped), with `ctx`.
pub fn try_render(name: &str, source: &str, ctx: impl Serialize) -> Result<String, TemplateError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_filter("f1", |x: f64| format!("{x:.1}"));
    env.add_filter("f2", |x: f64| format!("{x:.2}"));
    env.add_filter("f3", |x: f64| format!("{x:.3}"));
    let err = |error| TemplateError { name: name.to_string(), error };
    env.add_template(name, source).map_err(err)?;
    env.get_template(name).and_then(|t| t.render(ctx)).map_err(err)
}

/// As [`try_render`]; a failure (a bug in faultline, never the run's data)
/// is shown in the page, escaped, instead of the section.
pub fn render(name: &str, source: &str, ctx: impl Serialize) -> String {
    try_render(name, source, ctx).unwrap_or_else(|e| {
        let text = crate::html::esc(&e.to_string());
        try_render("template-error.html", include_str!("../templates/template-error.html"), minijinja::context! { text }).unwrap_or(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn every_value_is_escaped_and_unknown_variables_are_errors() {
        let html = render("t.html", "<p>{{ x }} {{ y | f2 }}</p>{{ svg | safe }}", context! { x => "<b>&", y => 1.0 / 3.0, svg => "<svg/>" });
        assert_eq!(html, "<p>&lt;b&gt;&amp; 0.33</p><svg/>");
        let e = try_render("t.html", "{{ nope }}", context! {}).unwrap_err();
        assert!(e.to_string().contains("t.html"), "{e}");
        assert!(render("t.html", "{{ nope }}", context! {}).contains("t.html"));
    }
}
