"""Starting and stopping a whole building: service, doors, radio, live view and serving sockets."""
