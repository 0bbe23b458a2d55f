"""Organisations and their people: creation by an operator, invitations by e-mail, roles and removal."""
