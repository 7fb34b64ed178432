"""The fault suite: the database, the disk, the SMS gateway and the processes failing the way an
operator meets them. Each test is bounded in time and stays on loopback (marker `faults`)."""
