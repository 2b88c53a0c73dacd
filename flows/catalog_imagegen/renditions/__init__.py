"""Channel renditions: each marketplace's deliverable derived from the one generated image,
checked against the channel's rules (profiles in ``templates/channels.toml``)."""
