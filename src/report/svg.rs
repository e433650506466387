//! Small bar charts as inline SVG: the index's posts per day and a
//! cluster's posts per hour. No script, no external resource.

use std::fmt::Write;

/// A bar chart of `counts` (one bar each), `width` x `height` pixels, with
/// a label under its left and right ends and a title for each bar.
pub fn bars(
    counts: &[u64],
    titles: &dyn Fn(usize) -> String,
    width: u32,
    height: u32,
    labels: (&str, &str),
) -> String {
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let n = counts.len().max(1) as f64;
    let chart_h = f64::from(height.saturating_sub(14));
    let bar_w = f64::from(width) / n;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">"#
    );
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let h = (c as f64 / max as f64 * chart_h).max(1.0);
        let _ = write!(
            svg,
            r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}"><title>{}</title></rect>"#,
            i as f64 * bar_w,
            chart_h - h,
            (bar_w - 0.5).max(0.5),
            h,
            super::html::esc(&titles(i)),
        );
    }
    let _ = write!(
        svg,
        r#"<text x="0" y="{}" class="lo">{}</text><text x="{width}" y="{}" class="hi" text-anchor="end">{}</text></svg>"#,
        height - 2,
        super::html::esc(labels.0),
        height - 2,
        super::html::esc(labels.1),
    );
    svg
}

/// Counts of `times` in bins of `bin` seconds from the earliest, at most
/// `max_bins` bins (the bin widens in whole multiples to fit): the counts
/// and the bin width used.
pub fn histogram(times: &[i64], bin: i64, max_bins: usize) -> (Vec<u64>, i64) {
    let (Some(&lo), Some(&hi)) = (times.iter().min(), times.iter().max()) else {
        return (Vec::new(), bin);
    };
    let span = (hi - lo) / bin + 1;
    let widen = (span as usize).div_ceil(max_bins.max(1)).max(1) as i64;
    let bin = bin * widen;
    let mut counts = vec![0u64; ((hi - lo) / bin + 1) as usize];
    for &t in times {
        counts[((t - lo) / bin) as usize] += 1;
    }
    (counts, bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_widens_its_bins_to_fit() {
        let times = [0, 10, 3600, 7200 * 100];
        let (counts, bin) = histogram(&times, 3600, 48);
        assert!(counts.len() <= 48);
        assert_eq!(counts.iter().sum::<u64>(), 4);
        assert_eq!(bin % 3600, 0);
        assert_eq!(histogram(&[], 3600, 48).0.len(), 0);
    }

    #[test]
    fn bars_escape_their_titles() {
        let svg = bars(&[1, 0, 2], &|i| format!("<b>{i}</b>"), 100, 40, ("a", "b"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("&lt;b&gt;2&lt;/b&gt;"));
    }
}
