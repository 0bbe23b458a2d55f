"""The live demo: a realistic event feed and a terminal dashboard fed by Firestore listeners."""
