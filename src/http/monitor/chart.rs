//! The list's chart: messages per stretch of time, stacked by status, as inline SVG drawn on the
//! server. SVG markup is not script, and its colours come from the stylesheet's classes, so the
//! Content-Security-Policy needs no exception for it.

use maud::{Markup, html};

use super::log::{STATUSES, Tally};
use super::page;
use crate::store::Status;

const WIDTH: u32 = 1300;
const HEIGHT: u32 = 130;
/// Room under the bars for the time labels.
const AXIS: u32 = 16;

/// The chart of `tally`.
pub fn chart(tally: &Tally) -> Markup {
    let peak = tally
        .buckets
        .iter()
        .map(|b| b.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let slots = u32::try_from(tally.buckets.len()).unwrap_or(1).max(1);
    let slot = WIDTH / slots;
    let bar = slot.saturating_sub(2).max(1);
    let plot = HEIGHT - AXIS;
    let minutes = tally.bucket.whole_minutes();
    let unit = match minutes {
        1 => "minute".to_owned(),
        m if m % 1440 == 0 => format!("{} days", m / 1440),
        m if m % 60 == 0 => format!("{} hours", m / 60),
        m => format!("{m} minutes"),
    };
    let unit = unit.replace("1 days", "day").replace("1 hours", "hour");
    let end = tally.from + tally.bucket * i32::try_from(tally.buckets.len()).unwrap_or(1);
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img"
                aria-label={ "Messages per " (unit) " by status" } {
                line.axis x1="0" y1=(plot) x2=(WIDTH) y2=(plot) {}
                @for (i, counts) in tally.buckets.iter().enumerate() {
                    @let x = u32::try_from(i).unwrap_or(0) * slot + 1;
                    @let at = tally.from + tally.bucket * i32::try_from(i).unwrap_or(0);
                    g {
                        title { (describe(&page::time(at), counts)) }
                        // A transparent column, so the tooltip covers the whole slot.
                        rect.hover x=(x) y="0" width=(bar) height=(plot) {}
                        @for (y, height, status) in stack(counts, peak, plot) {
                            rect class={ "bar s-" (status.as_str().to_ascii_lowercase()) }
                                x=(x) y=(y) width=(bar) height=(height) {}
                        }
                    }
                }
                text.label x="0" y=(HEIGHT - 3) { (page::time(tally.from).get(..16).unwrap_or("")) " UTC" }
                text.label.end x=(WIDTH) y=(HEIGHT - 3) { (page::time(end).get(..16).unwrap_or("")) }
                text.label x="2" y="10" { (peak) }
            }
            figcaption { "Messages per " (unit) " by status" }
        }
    }
}

/// The bars of one bucket, bottom up: (top, height, status) for each status with entries.
fn stack(counts: &[u64; STATUSES], peak: u64, plot: u32) -> Vec<(u32, u32, Status)> {
    let mut top = plot;
    let mut bars = Vec::new();
    for (count, status) in counts.iter().zip(Status::ALL) {
        if *count == 0 {
            continue;
        }
        let height = u32::try_from(count * u64::from(plot) / peak)
            .unwrap_or(plot)
            .max(1);
        top = top.saturating_sub(height);
        bars.push((top, height, status));
    }
    bars
}

fn describe(at: &str, counts: &[u64; STATUSES]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .zip(Status::ALL)
        .filter(|(count, _)| **count > 0)
        .map(|(count, status)| format!("{count} {status}"))
        .collect();
    let what = if parts.is_empty() {
        "no messages".to_owned()
    } else {
        parts.join(", ")
    };
    format!("{} UTC: {what}", at.get(..16).unwrap_or(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_in_proportion_to_the_busiest_bucket() {
        // 2 completed and 2 failed, in a chart whose peak is 4: half the height each.
        let bars = stack(&[0, 2, 2, 0, 0, 0, 0], 4, 100);
        assert_eq!(bars, [(50, 50, Status::Completed), (0, 50, Status::Failed)]);
        assert_eq!(
            describe("2026-03-01 10:05:00.000", &[0, 2, 2, 0, 0, 0, 3]),
            "2026-03-01 10:05 UTC: 2 COMPLETED, 2 FAILED, 3 ESCALATED"
        );
    }
}
