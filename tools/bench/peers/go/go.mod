module greenbench/peers

go 1.19
