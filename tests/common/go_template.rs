//! The subset of Go's text/template that `tunedeck export` writes into Ollama Modelfiles:
//! `{{ .Field }}`, `{{ if COND }}…{{ else if COND }}…{{ else }}…{{ end }}`,
//! `{{ range .Messages }}…{{ end }}`, `eq .Field "text"`, and the `{{-`/`-}}` trim markers.
//! Enough to execute a TEMPLATE the way Ollama does, so a test can compare bytes.

/// One message of `.Messages`.
pub struct Message<'a> {
    pub role: &'a str,
    pub content: &'a str,
}

enum Node {
    Text(String),
    Field(String),
    If(String, Vec<Node>, Vec<Node>),
    Range(Vec<Node>),
}

/// Text and actions with the trim markers applied to the text around them.
fn lex(src: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut text = rest[..open].to_string();
        if trim_next {
            text = text.trim_start().to_string();
        }
        let close = rest[open..].find("}}").expect("unclosed action") + open;
        let mut body = &rest[open + 2..close];
        if let Some(b) = body.strip_prefix('-') {
            text = text.trim_end().to_string();
            body = b;
        }
        trim_next = false;
        if let Some(b) = body.strip_suffix('-') {
            trim_next = true;
            body = b;
        }
        out.push((false, text));
        out.push((true, body.trim().to_string()));
        rest = &rest[close + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    out.push((false, text.to_string()));
    out
}

/// Parses until `end` or `else`; returns the nodes and the action that stopped it.
fn parse(tokens: &mut std::vec::IntoIter<(bool, String)>) -> (Vec<Node>, Option<String>) {
    let mut nodes = Vec::new();
    while let Some((action, text)) = tokens.next() {
        if !action {
            nodes.push(Node::Text(text));
        } else if text == "end" || text.starts_with("else") {
            return (nodes, Some(text));
        } else if let Some(cond) = text.strip_prefix("if ") {
            nodes.push(parse_if(cond.to_string(), tokens));
        } else if text == "range .Messages" {
            let (body, stop) = parse(tokens);
            assert_eq!(stop.as_deref(), Some("end"), "range without end");
            nodes.push(Node::Range(body));
        } else if text.starts_with('.') {
            nodes.push(Node::Field(text));
        } else {
            panic!("action {{{{ {text} }}}} is outside the supported subset");
        }
    }
    (nodes, None)
}

fn parse_if(cond: String, tokens: &mut std::vec::IntoIter<(bool, String)>) -> Node {
    let (then, stop) = parse(tokens);
    let otherwise = match stop.as_deref() {
        Some("end") => Vec::new(),
        Some("else") => {
            let (nodes, stop) = parse(tokens);
            assert_eq!(stop.as_deref(), Some("end"), "else without end");
            nodes
        }
        Some(s) if s.starts_with("else if ") => {
            vec![parse_if(s["else if ".len()..].to_string(), tokens)]
        }
        other => panic!("if without end: {other:?}"),
    };
    Node::If(cond, then, otherwise)
}

struct Scope<'a> {
    system: &'a str,
    message: Option<&'a Message<'a>>,
}

fn field<'a>(name: &str, s: &Scope<'a>) -> &'a str {
    match (name, s.message) {
        (".System", _) => s.system,
        (".Role", Some(m)) => m.role,
        (".Content", Some(m)) => m.content,
        _ => panic!("field {name} is not available here"),
    }
}

fn truthy(cond: &str, s: &Scope) -> bool {
    if let Some(args) = cond.strip_prefix("eq ") {
        let (f, lit) = args.split_once(' ').expect("eq takes two arguments");
        let lit: String = serde_json::from_str(lit).expect("a quoted string");
        return field(f, s) == lit;
    }
    !field(cond, s).is_empty()
}

fn exec(nodes: &[Node], s: &Scope, messages: &[Message], out: &mut String) {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Field(f) => out.push_str(field(f, s)),
            Node::If(c, a, b) => exec(if truthy(c, s) { a } else { b }, s, messages, out),
            Node::Range(body) => {
                for m in messages {
                    let inner = Scope {
                        system: s.system,
                        message: Some(m),
                    };
                    exec(body, &inner, messages, out);
                }
            }
        }
    }
}

/// Executes `template` with `.System` and `.Messages` as Ollama passes them.
pub fn render(template: &str, system: &str, messages: &[Message]) -> String {
    let (nodes, stop) = parse(&mut lex(template).into_iter());
    assert!(stop.is_none(), "unbalanced {stop:?}");
    let mut out = String::new();
    exec(
        &nodes,
        &Scope {
            system,
            message: None,
        },
        messages,
        &mut out,
    );
    out
}
