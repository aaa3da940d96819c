"""One screen per workflow step; each renders `DriverApp.route_state` and calls the app's actions."""
