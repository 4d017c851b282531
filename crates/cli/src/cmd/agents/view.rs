//! The live terminal view of a pipeline: one progress line (stage, experiment, epoch, best CRPS)
//! on stderr, plus a log line per notable event; and the final summary table on stdout.

use agents::{Envelope, Event, PipelineReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Live view state.
pub struct Live {
    bar: ProgressBar,
    stage: String,
    experiment: String,
    best: Option<f64>,
    enabled: bool,
}

impl Live {
    /// A view drawing on stderr (hidden when `enabled` is false or stderr is not a terminal).
    pub fn new(enabled: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if enabled {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:.bold} [{bar:20}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Self {
            bar,
            stage: String::new(),
            experiment: String::new(),
            best: None,
            enabled,
        }
    }

    fn say(&self, line: String) {
        if !self.enabled {
            return;
        }
        if self.bar.is_hidden() {
            // Not a terminal (logs, CI): plain lines instead of the live bar.
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    fn refresh(&self) {
        let best = self.best.map_or("-".to_string(), |b| format!("{b:.4}"));
        self.bar.set_prefix(self.stage.clone());
        self.bar
            .set_message(format!("{}  best CRPS {best}", self.experiment));
    }

    /// Updates the view with one event.
    pub fn on_event(&mut self, e: &Envelope) {
        match &e.event {
            Event::PipelineStart { stages, brain } => self.say(format!(
                "pipeline {} ({brain}): {}",
                e.run_id,
                stages.join(" → ")
            )),
            Event::StageStart {
                stage,
                index,
                total,
            } => {
                self.stage = format!("{stage} {index}/{total}");
                self.say(format!("▶ stage {index}/{total}: {stage}"));
            }
            Event::RetryAttempt {
                stage,
                attempt,
                max_attempts,
                temperature,
            } if *attempt > 1 => self.say(format!(
                "  ↻ {stage}: attempt {attempt}/{max_attempts} at temperature {temperature:.2}"
            )),
            Event::StallDetected {
                stage, signature, ..
            } => self.say(format!("  ⚠ {stage}: stall detected ({signature})")),
            Event::NonRecoverable { stage, error } => self.say(format!(
                "  ✖ {stage}: environment error, not retrying: {error}"
            )),
            Event::ToolCall { agent, tool } => self.bar.set_message(format!("{agent} → {tool}")),
            Event::ExperimentStart { name, epochs, .. } => {
                self.experiment = name.clone();
                self.bar.set_length(u64::from(*epochs));
                self.bar.set_position(0);
            }
            Event::EpochProgress { epoch, epochs, .. } => {
                self.bar.set_length(u64::from(*epochs));
                self.bar.set_position(u64::from(*epoch));
            }
            Event::ExperimentResult {
                name, crps, status, ..
            } => {
                if let Some(c) = crps.filter(|c| c.is_finite()) {
                    self.best = Some(self.best.map_or(c, |b| b.min(c)));
                }
                let c = crps.map_or("-".to_string(), |c| format!("{c:.4}"));
                self.say(format!("  • {name}: {status}, CRPS {c}"));
            }
            Event::Champion { run_id, crps } => {
                self.say(format!("  ★ new champion {run_id} (CRPS {crps:.4})"))
            }
            Event::StageEnd {
                stage,
                success,
                attempts,
            } => self.say(format!(
                "  {} {stage} ({attempts} attempt{})",
                if *success { "✓" } else { "✖" },
                if *attempts == 1 { "" } else { "s" }
            )),
            Event::Log { level, message } => self.say(format!("  [{level}] {message}")),
            _ => {}
        }
        self.refresh();
        self.bar.tick();
    }

    /// Clears the progress line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Prints one block per loop: stages, best run, champion, usage.
pub fn print_summary(reports: &[PipelineReport]) {
    for (i, r) in reports.iter().enumerate() {
        println!(
            "loop {} — run {} — {}",
            i + 1,
            r.run_id,
            if r.success { "success" } else { "FAILED" }
        );
        for s in &r.stages {
            let stopped = s
                .stopped
                .as_deref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default();
            println!(
                "  {:<10} {:<12} {:>2} attempt(s){stopped}",
                s.name,
                if s.success { "ok" } else { "failed" },
                s.attempts
            );
        }
        let best = r.best_crps().map_or("-".to_string(), |c| format!("{c:.4}"));
        let id = r
            .state
            .get("best_run_id")
            .and_then(|v| v.as_str())
            .unwrap_or("-");
        println!("  best run   {id} (CRPS {best})");
        if let Some(c) = r.state.get("champion").filter(|c| !c.is_null()) {
            let cid = c.get("run_id").and_then(|v| v.as_str()).unwrap_or("-");
            let cc = c
                .get("crps")
                .and_then(|v| v.as_f64())
                .map_or("-".to_string(), |x| format!("{x:.4}"));
            println!("  champion   {cid} (CRPS {cc})");
        }
        let sources = r.sources_seen();
        if !sources.is_empty() {
            println!("  sources    {} search hits seen:", sources.len());
            for x in sources.iter().take(5) {
                println!("             {}", x.url);
            }
        }
        if r.usage.calls > 0 {
            println!(
                "  LLM usage  {} calls, {} prompt + {} completion tokens, ${:.4}",
                r.usage.calls, r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.cost_usd
            );
        }
    }
}
