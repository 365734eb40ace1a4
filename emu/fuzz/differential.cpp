// Running one generated case on two backends and comparing the results.
