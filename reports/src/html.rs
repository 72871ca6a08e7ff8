//! HTML helpers: escaping, the page frame with its inline CSS and JS.

use serde_json::Value;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Embeds JSON data in a `<script type="application/json">` that no value
/// can break out of (`<` is written as `\u003c`).
pub fn json_script(id: &str, v: &Value) -> String {
    let text = v.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026");
    format!("<script type=\"application/json\" id=\"{}\">{text}</script>", esc(id))
}

/// The CSS class of a verdict.
pub fn verdict_class(v: &str) -> &'static str {
    match v {
        "valid" => "valid",
        "invalid" => "invalid",
        _ => "unknown",
    }
}

const CSS: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:12px;color:#222}
h1{margin:4px 0}h2{border-bottom:1px solid #ccc;margin-top:28px}
.banner{padding:10px 16px;border-radius:6px}.banner.valid{background:#d8f0dc}.banner.invalid{background:#f6d2d2}.banner.unknown{background:#f4e6c4}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f2f2f2;cursor:pointer}tr.fail td{background:#fbe3e3}tr.pass td{background:#eef8ef}tr.info td{background:#fdf3dc}
pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:400px}.err{color:#a00}.note{color:#666}.worst{font-size:15px}
figure{margin:8px 0}code{background:#f2f2f2;padding:1px 3px}.filters{margin:6px 0}canvas{border:1px solid #ddd;width:100%}
"#;

const SORT_JS: &str = r#"
document.querySelectorAll('table.sortable th').forEach(function(th, i){
  th.addEventListener('click', function(){
    var tb = th.closest('table').tBodies[0], rows = Array.from(tb.rows), asc = th.dataset.asc !== '1';
    rows.sort(function(a, b){
      var x = a.cells[i].textContent, y = b.cells[i].textContent, nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    th.dataset.asc = asc ? '1' : '0'; rows.forEach(function(r){ tb.appendChild(r); });
  });
});
document.querySelectorAll('input.filter').forEach(function(inp){
  inp.addEventListener('input', function(){
    var q = inp.value.toLowerCase(), tb = document.getElementById(inp.dataset.table).tBodies[0];
    Array.from(tb.rows).forEach(function(r){ r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none'; });
  });
});
"#;

/// A complete page: everything inline, nothing fetched.
pub fn page(title: &str, body: &str, extra_js: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body>\n{body}\n<script>{SORT_JS}{extra_js}</script></body></html>\n",
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(esc("<script>alert('x')</script>&\""), "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
        let s = json_script("d", &json!(["</script><script>alert(1)</script>"]));
        assert_eq!(s.matches("</script>").count(), 1, "{s}");
        let back: Value = serde_json::from_str(s.trim_start_matches("<script type=\"application/json\" id=\"d\">").trim_end_matches("</script>")).unwrap();
        assert_eq!(back, json!(["</script><script>alert(1)</script>"]));
    }
}
