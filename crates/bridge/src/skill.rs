//! The OpenClaw skill (`skills/openclaw/synth-city/` in the repository), embedded so that
//! `synth-city openclaw install` can write it anywhere.

/// Name of the skill (and of its folder).
pub const NAME: &str = "synth-city";

/// The skill's files: path relative to the skill folder, content, executable.
pub const FILES: &[(&str, &str, bool)] = &[
    ("SKILL.md", include_str!("../../../skills/openclaw/synth-city/SKILL.md"), false),
    ("scripts/sc.sh", include_str!("../../../skills/openclaw/synth-city/scripts/sc.sh"), true),
    ("scripts/run-experiment.sh", include_str!("../../../skills/openclaw/synth-city/scripts/run-experiment.sh"), true),
    ("scripts/pipeline.sh", include_str!("../../../skills/openclaw/synth-city/scripts/pipeline.sh"), true),
];
