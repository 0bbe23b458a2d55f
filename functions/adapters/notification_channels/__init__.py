"""Notification channels: configuration documents, webhook and e-mail senders, bounded retries."""
