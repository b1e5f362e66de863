import SpadeModel
