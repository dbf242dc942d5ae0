"""Mobile money (issue 9): the MTN MoMo adapter (`momo`), the payments table
(`models`), the collection and the transfer of each order (`service`), and
the jobs that poll their results (`jobs`)."""
