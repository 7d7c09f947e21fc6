//! A line-based unified diff (`diff -u` format), for `kiln diff`.

/// One line of an edit script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit<'a> {
    Same(&'a str),
    Delete(&'a str),
    Insert(&'a str),
}

/// Largest `lines(a) × lines(b)` compared line by line; above it the whole
/// old text is replaced by the new one (still a correct patch).
const MAX_CELLS: usize = 16_000_000;

fn edits<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<Edit<'a>> {
    // Common prefix and suffix first: drift is usually a few lines.
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<Edit<'a>> = a[..prefix].iter().map(|l| Edit::Same(l)).collect();
    if ma.len().saturating_mul(mb.len()) > MAX_CELLS {
        out.extend(ma.iter().map(|l| Edit::Delete(l)));
        out.extend(mb.iter().map(|l| Edit::Insert(l)));
    } else {
        // Longest common subsequence by dynamic programming, from the end.
        let (n, m) = (ma.len(), mb.len());
        let mut table = vec![0u32; (n + 1) * (m + 1)];
        let at = |i: usize, j: usize| i * (m + 1) + j;
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                table[at(i, j)] = if ma[i] == mb[j] {
                    table[at(i + 1, j + 1)] + 1
                } else {
                    table[at(i + 1, j)].max(table[at(i, j + 1)])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && ma[i] == mb[j] {
                out.push(Edit::Same(ma[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || table[at(i + 1, j)] >= table[at(i, j + 1)]) {
                // Deletions first, as `diff -u` prints them.
                out.push(Edit::Delete(ma[i]));
                i += 1;
            } else {
                out.push(Edit::Insert(mb[j]));
                j += 1;
            }
        }
    }
    out.extend(a[a.len() - suffix..].iter().map(|l| Edit::Same(l)));
    out
}

/// The unified diff of `old` and `new` with `context` lines around each
/// change, headed `--- old_name` / `+++ new_name`; empty when equal.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str, context: usize) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let script = edits(&a, &b);
    let changed: Vec<usize> = script
        .iter()
        .enumerate()
        .filter(|(_, e)| !matches!(e, Edit::Same(_)))
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = changed.first() else {
        return String::new();
    };
    // Group changes whose context overlaps into hunks of script indices.
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    let mut start = first.saturating_sub(context);
    let mut end = (first + context + 1).min(script.len());
    for &i in &changed[1..] {
        if i.saturating_sub(context) <= end {
            end = (i + context + 1).min(script.len());
        } else {
            hunks.push((start, end));
            start = i.saturating_sub(context);
            end = (i + context + 1).min(script.len());
        }
    }
    hunks.push((start, end));

    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    // Line numbers (1-based) at each script index.
    let (mut line_a, mut line_b) = (1usize, 1usize);
    let mut position = 0;
    for (start, end) in hunks {
        for edit in &script[position..start] {
            match edit {
                Edit::Same(_) => {
                    line_a += 1;
                    line_b += 1;
                }
                Edit::Delete(_) => line_a += 1,
                Edit::Insert(_) => line_b += 1,
            }
        }
        let body = &script[start..end];
        let count_a = body
            .iter()
            .filter(|e| !matches!(e, Edit::Insert(_)))
            .count();
        let count_b = body
            .iter()
            .filter(|e| !matches!(e, Edit::Delete(_)))
            .count();
        let range = |line: usize, count: usize| match count {
            0 => format!("{},0", line - 1),
            1 => format!("{line}"),
            n => format!("{line},{n}"),
        };
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(line_a, count_a),
            range(line_b, count_b)
        ));
        for edit in body {
            let (mark, text) = match edit {
                Edit::Same(t) => (' ', t),
                Edit::Delete(t) => ('-', t),
                Edit::Insert(t) => ('+', t),
            };
            out.push(mark);
            out.push_str(text);
            out.push('\n');
        }
        line_a += count_a;
        line_b += count_b;
        position = end;
    }
    out
}
