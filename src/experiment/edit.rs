//! Editing `experiment.toml` in place: the values the cockpit changed are written into the
//! user's document, so its comments, blank lines and key order survive a save.

use toml_edit::{Item, Table, Value};

/// Makes `doc` hold exactly the keys and values of `new`, keeping `doc`'s formatting where a
/// key stays: comments above a key live on the key, a comment after a value on the value.
pub fn update_table(doc: &mut Table, new: &Table) {
    let gone: Vec<String> = doc
        .iter()
        .filter(|(k, _)| !new.contains_key(k))
        .map(|(k, _)| k.to_string())
        .collect();
    for k in gone {
        doc.remove(&k);
    }
    for (k, item) in new.iter() {
        match doc.get_mut(k) {
            Some(old) => update_item(old, item),
            None => {
                doc.insert(k, item.clone());
            }
        }
    }
}

fn update_item(old: &mut Item, new: &Item) {
    match (old, new) {
        (Item::Table(o), Item::Table(n)) => update_table(o, n),
        // A [table] the user wrote stays a [table], an inline table stays inline.
        (Item::Table(o), Item::Value(Value::InlineTable(n))) => {
            update_table(o, &n.clone().into_table());
        }
        (Item::Value(Value::InlineTable(o)), Item::Table(n)) => {
            let mut t = std::mem::take(o).into_table();
            update_table(&mut t, n);
            *o = t.into_inline_table();
        }
        (Item::Value(Value::InlineTable(o)), Item::Value(Value::InlineTable(n))) => {
            let mut t = std::mem::take(o).into_table();
            update_table(&mut t, &n.clone().into_table());
            *o = t.into_inline_table();
        }
        (Item::Value(o), Item::Value(n)) => {
            // An unchanged value keeps the user's spelling (`1e-4` stays `1e-4`).
            if same_value(o, n) {
                return;
            }
            let decor = o.decor().clone();
            *o = n.clone();
            *o.decor_mut() = decor;
        }
        (o, n) => *o = n.clone(),
    }
}

/// Equal as TOML values, whatever their spelling.
fn same_value(a: &Value, b: &Value) -> bool {
    let parse = |v: &Value| {
        let mut v = v.clone();
        v.decor_mut().clear();
        format!("x = {v}").parse::<toml::Table>().ok()
    };
    matches!((parse(a), parse(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml_edit::DocumentMut;

    fn updated(old: &str, new: &str) -> String {
        let mut doc: DocumentMut = old.parse().unwrap();
        let new: DocumentMut = new.parse().unwrap();
        update_table(doc.as_table_mut(), new.as_table());
        doc.to_string()
    }

    #[test]
    fn comments_order_and_untouched_values_survive() {
        let old = "# mine\nlanguage = \"en\" # keep English\n\n[preset]\n# my favourite\nname = \"starter\"\n\n[preset.overrides]\nlearning_rate = 1e-4 # tried 2e-4\n";
        let new = "language = \"zh\"\n\n[preset]\nname = \"starter\"\n\n[preset.overrides]\nlearning_rate = 0.0001\nnum_train_epochs = 2\n";
        assert_eq!(
            updated(old, new),
            "# mine\nlanguage = \"zh\" # keep English\n\n[preset]\n# my favourite\nname = \"starter\"\n\n[preset.overrides]\nlearning_rate = 1e-4 # tried 2e-4\nnum_train_epochs = 2\n"
        );
    }

    #[test]
    fn a_removed_key_goes_and_a_value_becomes_what_was_saved() {
        let old = "[plan]\nstart = \"2026-12-01\"\nticks = [\"goal\"] # done\n";
        let new = "[plan]\nstart = \"2026-12-02\"\n";
        assert_eq!(updated(old, new), "[plan]\nstart = \"2026-12-02\"\n");
    }
}
