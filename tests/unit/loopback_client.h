// A test's HTTP client on loopback: raw sockets, so that a test can
// connect, send and read exactly as a misbehaving client would.
#pragma once

#include <chrono>
#include <string>

// A connection to 127.0.0.1, from `address` if given (127.0.0.0/8 is all
// ours: each address stands for another client host).
int ConnectFrom(int port, const char* address);
int Connect(int port);
void Send(int fd, const std::string& s);
// Everything until the server closes (or `timeout` passes: then "TIMEOUT").
std::string ReadUntilClosed(int fd,
                            std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
// Whether the server has closed fd (EOF or reset) within `timeout`.
bool ClosedWithin(int fd, std::chrono::milliseconds timeout);
