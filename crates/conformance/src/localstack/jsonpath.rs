//! The small JSONPath subset (`jsonpath_ng` semantics) used by LocalStack's
//! `skip_snapshot_verify` paths and the substitutions table:
//! `$..name`, `.name`, `[index]`, in any sequence, e.g.
//! `$..events[8].previousEventId` or `$..events..stateEnteredEventDetails.input`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    /// `..name`: `name` at any depth below (or at) the current node.
    Descendant(String),
    /// `.name`
    Child(String),
    /// `[n]`
    Index(usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Idx(usize),
}

fn parse(path: &str) -> Option<Vec<Seg>> {
    let rest = path.strip_prefix('$')?;
    let b = rest.as_bytes();
    let mut segs = Vec::new();
    let mut i = 0;
    let name_end = |from: usize| {
        let mut j = from;
        while j < b.len() && b[j] != b'.' && b[j] != b'[' {
            j += 1;
        }
        j
    };
    while i < b.len() {
        if rest[i..].starts_with("..") {
            let j = name_end(i + 2);
            if j == i + 2 {
                return None;
            }
            segs.push(Seg::Descendant(rest[i + 2..j].to_string()));
            i = j;
        } else if b[i] == b'.' {
            let j = name_end(i + 1);
            if j == i + 1 {
                return None;
            }
            segs.push(Seg::Child(rest[i + 1..j].to_string()));
            i = j;
        } else if b[i] == b'[' {
            let close = rest[i..].find(']')? + i;
            let n: usize = rest[i + 1..close].trim().parse().ok()?;
            segs.push(Seg::Index(n));
            i = close + 1;
        } else {
            return None;
        }
    }
    Some(segs)
}

fn matches(v: &Value, segs: &[Seg], at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    let Some((first, rest)) = segs.split_first() else {
        out.push(at.clone());
        return;
    };
    match first {
        Seg::Child(name) => {
            if let Some(child) = v.as_object().and_then(|m| m.get(name)) {
                at.push(Step::Key(name.clone()));
                matches(child, rest, at, out);
                at.pop();
            }
        }
        Seg::Index(n) => {
            if let Some(child) = v.as_array().and_then(|a| a.get(*n)) {
                at.push(Step::Idx(*n));
                matches(child, rest, at, out);
                at.pop();
            }
        }
        Seg::Descendant(name) => match v {
            Value::Object(m) => {
                for (k, child) in m {
                    at.push(Step::Key(k.clone()));
                    if k == name {
                        matches(child, rest, at, out);
                    }
                    matches(child, segs, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    at.push(Step::Idx(i));
                    matches(child, segs, at, out);
                    at.pop();
                }
            }
            _ => {}
        },
    }
}

fn get<'a>(v: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let mut cur = v;
    for s in steps {
        cur = match s {
            Step::Key(k) => cur.as_object()?.get(k)?,
            Step::Idx(i) => cur.as_array()?.get(*i)?,
        };
    }
    Some(cur)
}

fn get_mut<'a>(v: &'a mut Value, steps: &[Step]) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in steps {
        cur = match s {
            Step::Key(k) => cur.as_object_mut()?.get_mut(k)?,
            Step::Idx(i) => cur.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(cur)
}

/// Every value `path` matches in `v` (cloned), in document order.
pub fn find(v: &Value, path: &str, out: &mut Vec<Value>) {
    let Some(segs) = parse(path) else { return };
    let mut found = Vec::new();
    matches(v, &segs, &mut Vec::new(), &mut found);
    for steps in found {
        if let Some(x) = get(v, &steps) {
            out.push(x.clone());
        }
    }
}

/// Deletes every match of `path` from `v` (keys removed from their object;
/// list elements removed, as the snapshot library does with placeholders).
pub fn delete(v: &mut Value, path: &str) {
    let Some(segs) = parse(path) else { return };
    let mut found = Vec::new();
    matches(v, &segs, &mut Vec::new(), &mut found);
    // Remove list elements last and from the highest index down so earlier
    // indices stay valid.
    let mut list_removals: Vec<(Vec<Step>, usize)> = Vec::new();
    for steps in found {
        let Some((last, parent)) = steps.split_last() else {
            continue;
        };
        match last {
            Step::Key(k) => {
                if let Some(Value::Object(m)) = get_mut(v, parent) {
                    m.shift_remove(k);
                }
            }
            Step::Idx(i) => list_removals.push((parent.to_vec(), *i)),
        }
    }
    list_removals.sort_by_key(|r| std::cmp::Reverse(r.1));
    for (parent, i) in list_removals {
        if let Some(Value::Array(a)) = get_mut(v, &parent)
            && i < a.len()
        {
            a.remove(i);
        }
    }
}

/// Sets every match of `path` in `v` to `to` (`jsonpath_ng`'s `update`, as
/// `JsonpathTransformer(..., replace_reference=False)` does).
pub fn set(v: &mut Value, path: &str, to: &Value) {
    let Some(segs) = parse(path) else { return };
    let mut found = Vec::new();
    matches(v, &segs, &mut Vec::new(), &mut found);
    for steps in found {
        if let Some(slot) = get_mut(v, &steps) {
            *slot = to.clone();
        }
    }
}

/// Whether `path` is in the supported subset.
pub fn is_supported(path: &str) -> bool {
    parse(path).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deletes_descendants() {
        let mut v =
            json!({"a": {"Cause": 1, "b": [{"Cause": 2}, {"x": {"Cause": 3}}]}, "Cause": 0});
        delete(&mut v, "$..Cause");
        assert_eq!(v, json!({"a": {"b": [{}, {"x": {}}]}}));
    }

    #[test]
    fn indexed_and_nested_paths() {
        let mut v =
            json!({"r": {"events": [{"previousEventId": 0}, {"previousEventId": 1, "id": 2}]}});
        delete(&mut v, "$..events[1].previousEventId");
        assert_eq!(
            v,
            json!({"r": {"events": [{"previousEventId": 0}, {"id": 2}]}})
        );
        let mut v = json!({"events": [{"stateEnteredEventDetails": {"input": 1, "name": "x"}}]});
        delete(&mut v, "$..events..stateEnteredEventDetails.input");
        assert_eq!(
            v,
            json!({"events": [{"stateEnteredEventDetails": {"name": "x"}}]})
        );
        let mut found = Vec::new();
        find(
            &json!({"a": {"output": {"Cause": "c"}}}),
            "$..output.Cause",
            &mut found,
        );
        assert_eq!(found, vec![json!("c")]);
        assert!(!is_supported("$..a[?(@.x)]"));
    }
}
