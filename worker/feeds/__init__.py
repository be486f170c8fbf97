"""RSS and Atom feeds a tenant follows: polled on a schedule, each new item becomes a job."""
