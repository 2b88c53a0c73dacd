"""The prompt lab: try template drafts on a few products beside the current template, compare
them side by side, choose one, and promote it. Lab images live under ``lab/``, away from the
storefront's manifest, status and backfills."""
